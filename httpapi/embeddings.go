package httpapi

import (
	"net/http"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// openaiEmbeddings names the /v1/embeddings surface and its error envelope.
type openaiEmbeddings struct{}

func (openaiEmbeddings) surface() lyumen.Surface { return lyumen.SurfaceOpenAIEmbeddings }

func (openaiEmbeddings) error(err error) (int, []byte) { return openai.Error(err) }

// handleEmbeddings serves /v1/embeddings. It is not a chat exchange, but it
// is recorded like one: the request body as received, who served it, the
// usage. The vectors are not recorded: they are derived from the input by
// the model, large (kilobytes per input), and no training text; the input
// that produced them is in the record.
func (s *server) handleEmbeddings() http.Handler {
	c := openaiEmbeddings{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		// As for a chat exchange: the client's place in flight before its
		// body is read (handleExchange).
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
		req, err := openai.DecodeEmbeddings(body)
		if err != nil {
			s.refuse(w, c, err, "invalid")
			return
		}
		if _, ok := s.Catalog.Lookup(req.Model); !ok {
			s.refuse(w, c, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist or you do not have access to it", lyumen.Clip(req.Model)), "unknown_model")
			return
		}
		emb, ok := s.Provider.(lyumen.Embedder)
		if !ok {
			s.refuse(w, c, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "model", Message: "this model's provider does not support embeddings"}, "unsupported")
			return
		}
		if !s.roomToRecord(w, c) {
			return
		}
		// The same limits as a chat exchange: the model's concurrency and
		// the client's rate and token budget (admit in limits.go).
		if !s.admit(w, r, c, adm, &lyumen.Request{Surface: req.Surface, Model: req.Model}, body) {
			return
		}
		rec := s.newRecord(w, r, c.surface(), req.Model, false, body, start)
		defer adm.done(r.Context(), rec)
		defer s.recordPanic(r.Context(), w, rec)
		req.OnAttempt = noteAttempt(rec)
		s.serveEmbed(w, r, c, emb, req, rec)
		s.logExchange(r.Context(), rec)
	})
}

func (s *server) serveEmbed(w http.ResponseWriter, r *http.Request, c errorCodec, emb lyumen.Embedder, req *lyumen.EmbedRequest, rec *lyumen.Record) {
	ctx := r.Context()
	resp, err := emb.Embed(ctx, req)
	rec.Duration = s.Now().Sub(rec.ReceivedAt)
	if err != nil {
		s.fail(w, ctx, c, rec, err)
		return
	}
	body := openai.EncodeEmbeddings(resp, req) // first: a panic here leaves the record to recordPanic
	rec.TTFT = rec.Duration
	rec.Status = http.StatusOK
	rec.Completeness = lyumen.Complete
	rec.ServedModel = resp.Model
	if resp.Usage != nil {
		rec.Usage = *resp.Usage
	}
	// An answer with its accounting and no choices: see handleEmbeddings.
	rec.Response = &lyumen.Response{Model: resp.Model, Usage: resp.Usage}
	if err := s.record(ctx, rec); err != nil {
		// Free inference is only served when it can be recorded.
		status, body := c.error(err)
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}
