package upstreamhttp_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

// TestDeadline: a whole answer must arrive within the timeout; a stream
// its first byte, and then each next one: it runs on however long it
// takes, its bytes intact, while it is never silent for the timeout.
func TestDeadline(t *testing.T) {
	// Wide margins: on a loaded machine (CI runs packages side by side) a
	// 100 ms sleep took over 200 ms.
	const timeout = 500 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		switch r.URL.Path {
		case "/whole-stalls": // headers in time, the rest never
			w.Write([]byte(`{"id":`))
			rc.Flush()
			<-r.Context().Done()
		case "/stream-stalls": // headers in time, no first byte
			<-r.Context().Done()
		case "/stream-stalls-later": // a first event in time, then silence
			time.Sleep(timeout / 4)
			w.Write([]byte("data: 1\n\n"))
			rc.Flush()
			<-r.Context().Done()
		case "/stream-steady-reader-slow": // events well inside the timeout; the reader pauses past it
			for i := range 8 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				rc.Flush()
				time.Sleep(timeout / 4)
			}
		case "/stream-long": // events well inside the timeout, for twice it
			for i := range 8 {
				time.Sleep(timeout / 4)
				fmt.Fprintf(w, "data: %d\n\n", i)
				rc.Flush()
			}
		}
	}))
	defer srv.Close()
	rt := upstreamhttp.Deadline(srv.Client().Transport, timeout)
	get := func(path string, stream bool) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, nil)
		if stream {
			req.Header.Set("Accept", "text/event-stream")
		}
		return rt.RoundTrip(req)
	}
	isTimeout := func(err error) bool {
		ne, ok := errors.AsType[net.Error](err)
		return ok && ne.Timeout()
	}

	resp, err := get("/whole-stalls", false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !isTimeout(err) || time.Since(start) > 4*timeout {
		t.Errorf("a whole answer stalled after its headers: %v after %v, want a timeout at %v", err, time.Since(start), timeout)
	}

	start = time.Now()
	if _, err := get("/stream-stalls", true); !isTimeout(err) || time.Since(start) > 4*timeout {
		t.Errorf("a stream without a first byte: %v after %v, want a timeout from RoundTrip at %v", err, time.Since(start), timeout)
	}

	resp, err = get("/stream-stalls-later", true)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "data: 1\n\n" || !isTimeout(err) || time.Since(start) > 4*timeout {
		t.Errorf("a stream silent after its first event: %q, %v after %v; want the event, then a timeout at %v", b, err, time.Since(start), timeout)
	}

	// The gateway not reading (writing to a slow client) is not the
	// upstream's silence.
	resp, err = get("/stream-steady-reader-slow", true)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1)
	if _, err := resp.Body.Read(first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * timeout)
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasSuffix(string(b), "data: 7\n\n") {
		t.Errorf("a steady stream read by a reader that paused past the timeout: %q, %v; want it whole", b, err)
	}

	resp, err = get("/stream-long", true)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := resp.Body.Read(nil); n != 0 || err != nil { // nothing asked: nothing given, nothing lost
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\ndata: 6\n\ndata: 7\n\n"
	if err != nil || string(b) != want {
		t.Errorf("a stream that never went silent for the timeout: %q, %v; want it whole, two timeouts long", b, err)
	}
}
