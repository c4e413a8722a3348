package httpapi

import "net/http"

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	chat := openaiChat{}
	mux.Handle("POST /v1/chat/completions", s.handleExchange(chat))
	mux.Handle("POST /v1/responses", s.handleExchange(openaiResponses{}))
	mux.Handle("POST /v1/completions", s.handleExchange(openaiCompletions{}))
	mux.Handle("POST /v1/embeddings", s.handleEmbeddings())
	mux.Handle("POST /v1/messages", s.handleExchange(anthropicMessages{}))
	mux.Handle("POST /v1/messages/count_tokens", s.handleCountTokens())
	mux.Handle("GET /v1/models", s.handleModels())
	mux.Handle("GET /v1/models/{id...}", s.handleModel())
	mux.Handle("/v1/", s.handleUnknownAPI())

	mux.Handle("GET /{$}", s.handleLanding())
	mux.Handle("GET /privacy", s.handlePrivacy())
	mux.Handle("GET /style.css", s.handleStyle())
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("/", s.handleNotFound())
	return mux
}
