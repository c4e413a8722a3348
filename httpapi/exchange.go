package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lyumen/lyumen"
)

// codec is what differs between API surfaces: how a request is read and
// how answers, stream events and errors are written. Everything else about
// an exchange (routing, recording, flushing) is the same for all.
type codec interface {
	errorCodec
	decode(body []byte) (*lyumen.Request, error)
	// response renders a whole completion.
	response(resp *lyumen.Response, req *lyumen.Request, now time.Time) []byte
	// stream starts the encoding of one streamed answer.
	stream(req *lyumen.Request, now time.Time) streamEncoder
}

// errorCodec is the part of a codec that routes outside the chat exchange
// (embeddings) need too: the surface's name and its error envelope.
type errorCodec interface {
	surface() lyumen.Surface
	// error renders err in the surface's envelope with its status.
	error(err error) (status int, body []byte)
}

// streamEncoder writes one stream in a surface's SSE framing. It may keep
// state: Anthropic and Responses streams open and close content blocks.
type streamEncoder interface {
	// event appends one event to dst; it may append nothing.
	event(dst []byte, ev *lyumen.Event) []byte
	// end appends what closes a complete stream; resp is the whole answer.
	end(dst []byte, resp *lyumen.Response) []byte
	// fail appends an error event for a stream that failed midway.
	fail(dst []byte, err error) []byte
}

// asideShower is a streamEncoder with a place for what other translated
// surfaces leave out of a stream (lyumen.Event.Aside): the Responses API
// has items for reasoning and content parts for refusals.
type asideShower interface{ showsAside() }

// statusClientClosed is recorded when the client left before the answer
// (nginx's 499); it is never sent.
const statusClientClosed = 499

// maxUserAgent bounds the stored user agent: it is the only header kept.
const maxUserAgent = 512

func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

func (s *server) handleExchange(c codec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverPanic(w, r, c) // a 500 in the surface's envelope (harden.go)
		start := s.Now()
		// The client's place in flight comes before its body is read and
		// decoded, which take memory up to max_body_bytes (limits.go).
		adm, ok := s.admitClient(w, r, c, false)
		if !ok {
			return
		}
		defer adm.release()
		body, err := readBody(w, r, s.MaxBodyBytes)
		if err != nil {
			s.refuse(w, c, err, "body")
			return
		}
		req, err := c.decode(body)
		if err != nil {
			s.refuse(w, c, err, "invalid")
			return
		}
		req.AnthropicBeta = r.Header.Values("Anthropic-Beta") // for Anthropic upstreams
		if _, ok := s.Catalog.Lookup(req.Model); !ok {
			s.refuse(w, c, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist or you do not have access to it", lyumen.Clip(req.Model)), "unknown_model")
			return
		}
		if !s.roomToRecord(w, c) {
			return
		}
		if !s.admit(w, r, c, adm, req, body) { // rate limits and budgets (limits.go)
			return
		}
		rec := s.newRecord(w, r, c.surface(), req.Model, req.Stream, body, start)
		defer adm.done(r.Context(), rec)
		defer s.recordPanic(r.Context(), w, rec)
		rec.Conversation = req.Conversation()
		req.OnAttempt = noteAttempt(rec)
		if req.Stream {
			s.serveStream(w, r, c, req, rec)
		} else {
			s.serveWhole(w, r, c, req, rec)
		}
		s.logExchange(r.Context(), rec)
	})
}

// userAgent is the request's User-Agent as text: at most maxUserAgent
// bytes, cut between characters, with any byte that is not UTF-8 (net/http
// lets a header carry any byte from 0x80 up) replaced.
func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if !utf8.ValidString(ua) {
		ua = strings.ToValidUTF8(ua, "\uFFFD")
	}
	if len(ua) > maxUserAgent {
		n := maxUserAgent
		for !utf8.RuneStart(ua[n]) {
			n--
		}
		ua = ua[:n]
	}
	return ua
}

// newRecord starts the record of an exchange whose request was accepted.
func (s *server) newRecord(w http.ResponseWriter, r *http.Request, surface lyumen.Surface, model string, stream bool, body []byte, start time.Time) *lyumen.Record {
	ua := userAgent(r)
	rec := &lyumen.Record{
		ID:         s.NewID(),
		ReceivedAt: start,
		Surface:    surface,
		Model:      model,
		Stream:     stream,
		Request:    body,
		UserAgent:  ua,
		Country:    country(r, s.TrustedProxies),
	}
	// The record's id goes back to the client, so a user can name the
	// record when asking the operator to delete it; Anthropic's SDKs read
	// it from their API's own header (message._request_id).
	h := w.Header()
	h.Set("X-Request-Id", rec.ID)
	if surface == lyumen.SurfaceAnthropicMessages {
		h["Request-Id"] = h["X-Request-Id"] // the same value, and neither changes
	}
	return rec
}

// noteAttempt returns the OnAttempt hook that keeps the router's attempts
// in rec.
func noteAttempt(rec *lyumen.Record) func(lyumen.Attempt) {
	return func(a lyumen.Attempt) {
		rec.Attempts = append(rec.Attempts, a)
		if a.Error == "" {
			rec.Provider = a.Provider
		}
	}
}

func (s *server) logExchange(ctx context.Context, rec *lyumen.Record) {
	h := s.logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// Straight to the handler, with typed attributes: one line per
	// exchange, without boxing each value, and with no source position,
	// for which Logger.LogAttrs would walk the stack on every exchange (no
	// handler here prints it).
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "exchange", 0)
	r.AddAttrs(slog.String("id", rec.ID), slog.String("surface", string(rec.Surface)),
		slog.String("model", rec.Model), slog.String("provider", rec.Provider), slog.Bool("stream", rec.Stream),
		slog.Int("status", rec.Status), slog.String("completeness", string(rec.Completeness)),
		slog.Duration("dur", rec.Duration), slog.Duration("ttft", rec.TTFT))
	_ = h.Handle(ctx, r) // a log line that cannot be written is not the client's problem
}

// maxPresize bounds a request body's buffer before its bytes arrive.
const maxPresize = 64 << 10

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := func() error {
		return lyumen.Errorf(lyumen.KindTooLarge, "the request body is larger than the limit of %d bytes", limit)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	// Room for the whole body and ReadFrom's minimum read, so a body with a
	// Content-Length is read without growing the buffer, up to maxPresize:
	// a length claimed but not sent must not hold memory (this runs before
	// any rate limit); a larger body grows the buffer as its bytes come.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), maxPresize)+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge()
		}
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body could not be read", Err: err}
	}
	if containers(buf.Bytes(), maxContainers) > maxContainers {
		return nil, lyumen.Errorf(lyumen.KindTooLarge, "the request body has more than %d JSON objects and arrays", maxContainers)
	}
	return buf.Bytes(), nil
}

// maxContainers bounds the JSON objects and arrays of a request body. Each
// becomes a value of some hundred bytes when decoded, from as little as
// the 3 bytes of "{},": within max_body_bytes alone, one body of empty
// messages took 1.9 GB to decode, before any rate limit. A conversation
// of max_messages' default 1000 messages, each with content parts and tool
// calls, and 128 tools' schemas need a few tens of thousands.
const maxContainers = 1 << 18

// containers counts the objects and arrays that open in body, outside
// strings, stopping once past limit. The body need not be valid JSON: the
// decoder says what is wrong with it.
func containers(body []byte, limit int) int {
	n := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '[':
			if n++; n > limit {
				return n
			}
		case '"':
			// Skip the string (most of a large body: text, base64 images)
			// to its closing quote: one not escaped, after an even run of
			// backslashes.
			for {
				j := bytes.IndexByte(body[i+1:], '"')
				if j < 0 {
					return n
				}
				i += 1 + j
				k := i - 1
				for body[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		}
	}
	return n
}

// refuse answers a request that will not be recorded.
func (s *server) refuse(w http.ResponseWriter, c errorCodec, err error, reason string) {
	if lyumen.KindOf(err) == lyumen.KindTooLarge {
		reason = "too_large"
	}
	s.OnRefused(c.surface(), reason)
	status, body := c.error(err)
	writeJSON(w, status, body)
}

// errCannotRecord is what a client gets when its exchange cannot be
// recorded: this gateway serves only what it records.
const errCannotRecord = "the service cannot record requests right now; try again shortly"

// roomToRecord refuses the request, before the upstream is asked and
// before any limit is charged, when the Recorder says it is full: an
// answer it could not record would be served for nothing (a stream's
// words would reach the client unrecorded) and then fail.
func (s *server) roomToRecord(w http.ResponseWriter, c errorCodec) bool {
	if s.full == nil || !s.full() {
		return true
	}
	s.refuse(w, c, &lyumen.Error{Kind: lyumen.KindUnavailable, Message: errCannotRecord}, "recorder_full")
	return false
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *server) serveWhole(w http.ResponseWriter, r *http.Request, c codec, req *lyumen.Request, rec *lyumen.Record) {
	ctx := r.Context()
	resp, err := s.Provider.Chat(ctx, req)
	rec.Duration = s.Now().Sub(rec.ReceivedAt)
	if err != nil {
		s.fail(w, ctx, c, rec, err)
		return
	}
	body := c.response(resp, req, s.Now()) // first: a panic here leaves the record to recordPanic
	rec.TTFT = rec.Duration
	rec.Status = http.StatusOK
	rec.Completeness = lyumen.Complete
	rec.Response = resp
	rec.ServedModel = resp.Model
	if resp.Usage != nil {
		rec.Usage = *resp.Usage
	}
	if err := s.record(ctx, rec); err != nil {
		// Free inference is only served when it can be recorded.
		status, body := c.error(err)
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// fail records an exchange that got no answer from the upstream and tells
// the client, if it is still there.
func (s *server) fail(w http.ResponseWriter, ctx context.Context, c errorCodec, rec *lyumen.Record, err error) {
	rec.Error = err.Error()
	if ctx.Err() != nil {
		rec.Status = statusClientClosed
		rec.Completeness = lyumen.ClientDisconnected
		s.record(ctx, rec)
		return
	}
	status, body := c.error(err)
	rec.Status = status
	rec.Completeness = lyumen.UpstreamRefused
	if recErr := s.record(ctx, rec); recErr != nil {
		status, body = c.error(recErr)
	} else if e, ok := errors.AsType[*lyumen.Error](err); ok && e.RetryAfter > 0 && waitMeansAgain(status) {
		// The upstream's wait, which the router would not keep the client
		// for: its SDK backs off that long instead of retrying at once.
		setRetryAfter(w.Header(), e.RetryAfter)
	}
	writeJSON(w, status, body)
}

// waitMeansAgain says a client told to wait may then try again: throttled
// (429) or overloaded (503, Anthropic's 529).
func waitMeansAgain(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == 529
}

func (s *server) serveStream(w http.ResponseWriter, r *http.Request, c codec, req *lyumen.Request, rec *lyumen.Record) {
	ctx := r.Context()
	st, err := s.Provider.ChatStream(ctx, req)
	if err != nil {
		rec.Duration = s.Now().Sub(rec.ReceivedAt)
		s.fail(w, ctx, c, rec, err)
		return
	}
	defer st.Close()

	// The headers go out with the first event, one write instead of two,
	// unless that is slower than HeaderWait: then alone, so a client or a
	// proxy in between sees an answer has begun. Until then a stream that
	// fails gets its error's own status, as one that failed to open.
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rec.Status = http.StatusOK
	rc := http.NewResponseController(w)
	headers := flushAfter(w, rc, s.HeaderWait)
	defer headers.stop() // the timer must not touch w once the handler returned

	var asm lyumen.Assembler
	defer func() {
		// A panic cut the stream (recordPanic records it): the record
		// keeps the part of the answer the client was sent.
		if rec.Completeness == "" && rec.Response == nil {
			rec.Response = asm.Response()
			rec.ServedModel = rec.Response.Model
		}
	}()
	enc := c.stream(req, rec.ReceivedAt)
	_, showsAside := enc.(asideShower)
	bp := s.eventBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooledEventBuf { // a huge event's buffer goes to the GC
			*bp = buf
			s.eventBufs.Put(bp)
		}
	}()
	ready, _ := st.(interface{ Ready() bool })
	prog := progress{s: s}
	prog.pr, _ = s.Recorder.(lyumen.ProgressRecorder)
	// One event for the stream: taken by address through interfaces, a
	// variable declared in the loop went to the heap at every event.
	var ev lyumen.Event
	var failed error       // the upstream's, once it failed mid-stream
	kept := rec.ReceivedAt // when the last keep-alive went out
	unflushed := 0         // bytes written since the last flush
	wrote := false         // a byte of the answer was written
	for {
		// What was written goes out before a wait on the upstream; events
		// already buffered go with it, one flush for all.
		if unflushed > 0 && (ready == nil || !ready.Ready()) {
			if err := prog.keep(ctx, rec, &asm); err != nil { // seldom: see the write below
				failed = err
				rec.Completeness, rec.Error = lyumen.UpstreamFailed, err.Error()
				break
			}
			if err := rc.Flush(); err != nil {
				rec.Completeness = lyumen.ClientDisconnected
				rec.Error = clientGone(err)
				break
			}
			unflushed = 0
		}
		var err error
		ev, err = st.Next()
		if errors.Is(err, io.EOF) {
			rec.Completeness = lyumen.Complete
			break
		}
		if err != nil {
			rec.Error = err.Error()
			if ctx.Err() != nil {
				rec.Completeness = lyumen.ClientDisconnected
				break
			}
			rec.Completeness = lyumen.UpstreamFailed
			failed = err
			break
		}
		if ev.Empty() {
			continue // the upstream's events carried nothing; see lyumen.Stream
		}
		if rec.TTFT == 0 {
			rec.TTFT = s.Now().Sub(rec.ReceivedAt)
		}
		asm.Add(&ev)
		if asm.Size() > lyumen.MaxAnswer { // the record has this event; the client does not
			failed = errAnswerTooLong
			rec.Completeness, rec.Error = lyumen.UpstreamFailed, failed.Error()
			break
		}
		if !showsAside && ev.Aside() {
			// Recorded; translated, it is not shown. A model that reasons
			// for minutes would leave the connection silent, and a proxy
			// in between may cut it (Cloudflare's waits 100 s): a comment,
			// which SSE clients skip, goes out now and then.
			now := s.Now()
			if now.Sub(kept) < keepAliveEvery {
				continue
			}
			kept = now
			buf = append(buf[:0], keepAlive...)
		} else if buf = enc.event(buf[:0], &ev); len(buf) == 0 {
			continue
		}
		headers.stop()
		// The first progress goes before the first of the answer is
		// written: refused, the client gets the error's status and none of
		// it. Later ones go before a write that a flush follows (no more
		// events wait) or that passes the response's buffer, either of
		// which sends what was written.
		if prog.at.IsZero() || unflushed+len(buf) > maxUnflushed || ready == nil || !ready.Ready() {
			if err := prog.keep(ctx, rec, &asm); err != nil {
				failed = err
				rec.Completeness, rec.Error = lyumen.UpstreamFailed, err.Error()
				break
			}
		}
		wrote = true
		if _, err := w.Write(buf); err != nil {
			rec.Completeness = lyumen.ClientDisconnected
			rec.Error = clientGone(err)
			break
		}
		unflushed += len(buf)
	}
	rec.Duration = s.Now().Sub(rec.ReceivedAt)
	if !wrote && !headers.stop() {
		// Nothing went out, headers included.
		switch {
		case failed != nil:
			// The client gets the error's status, which an SDK acts on (it
			// retries a 429 or a 5xx status, not an error event), and the
			// reason nothing came is recorded.
			h.Del("Cache-Control")
			h.Del("X-Accel-Buffering")
			rec.Completeness = ""
			s.fail(w, ctx, c, rec, failed)
			return
		case rec.Completeness == lyumen.ClientDisconnected:
			rec.Status = statusClientClosed // it left before any status was sent
		}
	}
	resp := asm.Response()
	rec.Response = resp
	rec.ServedModel = resp.Model
	if resp.Usage != nil {
		rec.Usage = *resp.Usage
	}
	// The record is taken before the stream's last bytes go out, so a client
	// that saw a stream end, well or in an error, has a record of it.
	err = s.record(ctx, rec)
	switch {
	case rec.Completeness == lyumen.ClientDisconnected:
		return
	case failed != nil:
		buf = enc.fail(buf[:0], failed)
	case err != nil:
		// The answer went out but was not recorded: the client gets an error,
		// which the SDKs report, not a stream that merely stops (they take
		// one without its end marker for a whole answer).
		buf = enc.fail(buf[:0], err)
	default:
		buf = enc.end(buf[:0], resp)
	}
	headers.stop()
	w.Write(buf)
	rc.Flush()
}

// progressEvery is how often a stream's record is kept while it runs, for
// a record of up to progressBytes; a larger one waits longer in proportion,
// so that the log is written at most progressBytes a second per stream.
const (
	progressEvery = time.Second
	progressBytes = 64 << 10
)

// maxUnflushed is how much of a stream may be written before a flush with
// none of it reaching the client: net/http buffers 2 KiB of a response
// before it chunks it (bufferBeforeChunkingSize).
const maxUnflushed = 2 << 10

// progress keeps a stream's record so far with a ProgressRecorder: before
// the first of the answer is written, then at most every progressEvery.
// Should the gateway die before the stream ends, the log then has what the
// client was sent, but for at most the last of those.
type progress struct {
	s  *server
	pr lyumen.ProgressRecorder // nil: the Recorder keeps none
	at time.Time               // of the last one kept; zero before the first
}

// keep hands the recorder rec, with the answer so far, if a progress is
// due. It fails only when the first cannot be kept: the stream is not to
// be served unrecorded.
func (p *progress) keep(ctx context.Context, rec *lyumen.Record, asm *lyumen.Assembler) error {
	if p.pr == nil || asm.Size() == 0 {
		return nil
	}
	now := p.s.Now()
	first := p.at.IsZero()
	if !first && now.Sub(p.at) < progressEvery*time.Duration(max(1, (len(rec.Request)+asm.Size())/progressBytes)) {
		return nil
	}
	p.at = now
	snap := *rec
	snap.Response = asm.Response()
	snap.ServedModel = snap.Response.Model
	if u := snap.Response.Usage; u != nil {
		snap.Usage = *u
	}
	snap.Duration = now.Sub(rec.ReceivedAt)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.s.RecordTimeout)
	defer cancel()
	err := p.pr.Progress(ctx, &snap)
	if err == nil {
		return nil
	}
	p.s.logger.ErrorContext(ctx, "progress not taken", "id", rec.ID, "err", err)
	if !first {
		return nil // the earlier one stands; the record at the end may still be taken
	}
	return &lyumen.Error{Kind: lyumen.KindUnavailable, Message: errCannotRecord, Err: err}
}

// clientGone is the recorded error of a write to the client that failed.
// Never the error's own text: a network error names both ends of the
// connection ("write tcp 10.0.0.2:8080->203.0.113.5:51234: i/o timeout"),
// and the client's address must not be stored.
func clientGone(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "client disconnected: it stopped reading (write timeout)"
	}
	return "client disconnected: the connection was closed"
}

// keepAlive is an SSE comment, sent at most every keepAliveEvery while a
// stream's events are not shown (see serveStream).
const keepAlive = ": keep-alive\n\n"

const keepAliveEvery = 10 * time.Second

// errAnswerTooLong ends a stream whose answer passed lyumen.MaxAnswer.
var errAnswerTooLong = lyumen.Errorf(lyumen.KindUpstream, "the upstream's answer is longer than %d MiB", lyumen.MaxAnswer>>20)

// maxPooledEventBuf bounds the event buffers kept for reuse.
const maxPooledEventBuf = 64 << 10

// lateFlush sends a 200's headers once, from a timer, unless stopped
// first.
type lateFlush struct {
	mu      sync.Mutex
	stopped bool // under mu: the timer's goroutine reads it
	sent    bool // under mu until stop: the timer sent the headers
	t       *time.Timer
	owned   bool // the handler's own: stop has run
}

func flushAfter(w http.ResponseWriter, rc *http.ResponseController, d time.Duration) *lateFlush {
	f := &lateFlush{}
	f.t = time.AfterFunc(d, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.stopped {
			f.stopped, f.sent = true, true
			w.WriteHeader(http.StatusOK)
			rc.Flush()
		}
	})
	return f
}

// stop cancels the flush, or waits for it to finish (a flush to a client
// that does not read lasts up to the write timeout): after stop the caller
// has the response writer to itself. It reports whether the timer sent
// the headers, the status with them. Only the handler calls it.
func (f *lateFlush) stop() (sent bool) {
	if f.owned {
		return f.sent
	}
	f.owned = true
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		f.t.Stop()
	}
	return f.sent
}

// recordPanic, deferred once an exchange has its record, records an
// exchange that a panic cut short (the record is taken only once: a
// record with its Completeness set is being or has been recorded), then
// lets the panic go on to recoverPanic, which answers the client.
func (s *server) recordPanic(ctx context.Context, w http.ResponseWriter, rec *lyumen.Record) {
	v := recover()
	if v == nil {
		return
	}
	defer panic(v)
	if err, ok := v.(error); (ok && errors.Is(err, http.ErrAbortHandler)) || rec.Completeness != "" {
		return
	}
	rec.Duration = s.Now().Sub(rec.ReceivedAt)
	rec.Error = "internal error: the gateway failed while serving this exchange"
	if rw, ok := w.(*responseWriter); ok && rw.wroteHeader {
		rec.Completeness = lyumen.UpstreamFailed // the client saw a part, then a cut
	} else {
		rec.Status = http.StatusInternalServerError // what recoverPanic answers
		rec.Completeness = lyumen.UpstreamRefused
	}
	s.record(ctx, rec)
}

// record hands rec to the recorder. It outlives the client's request: what
// was produced is recorded even when the client has gone.
func (s *server) record(ctx context.Context, rec *lyumen.Record) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.RecordTimeout)
	defer cancel()
	if err := s.Recorder.Record(ctx, rec); err != nil {
		s.logger.ErrorContext(ctx, "record not taken", "id", rec.ID, "err", err)
		return &lyumen.Error{Kind: lyumen.KindUnavailable, Message: errCannotRecord, Err: err}
	}
	return nil
}
