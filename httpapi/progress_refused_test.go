package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// refusingRecorder refuses progress and records alike: a spool at its cap.
type refusingRecorder struct{ w *opsWriter }

func (r refusingRecorder) Progress(context.Context, *lyumen.Record) error {
	r.w.add("progress refused")
	return errors.New("spool full")
}

func (r refusingRecorder) Record(context.Context, *lyumen.Record) error {
	r.w.add("record refused")
	return errors.New("spool full")
}

// TestStream_FirstProgressRefusedWhileEventsWait: the first progress goes
// before the first write even while the upstream's events wait in its
// buffer (no flush due): refused, the client gets a 503 and none of the
// answer. A first progress put off to the flush, or to the write that
// passes net/http's buffer, let the answer already written go out with a
// 200 and an error event, recorded nowhere.
func TestStream_FirstProgressRefusedWhileEventsWait(t *testing.T) {
	w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
	h := httpapi.NewServer(httpapi.Options{
		Provider: timedProvider{func() lyumen.Stream {
			return &readyStream{timedStream{words: []string{"secret answer", strings.Repeat("x", 2100)},
				waits: make([]time.Duration, 2)}}
		}},
		Recorder: refusingRecorder{w: w},
		Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
	})
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi"))))
	body := w.Body.String()
	t.Logf("operations %v", w.log())
	if strings.Contains(body, "secret answer") {
		t.Errorf("status %d, body %q: the answer went out, and no progress or record of it was taken", w.Code, body)
	}
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d: want 503, as when the first progress is refused before any write", w.Code)
	}
}
