package lyumen

import "context"

// Provider is an upstream that completes requests. Implementations live one
// package per wire format; the router (itself a Provider) picks among them.
type Provider interface {
	Chat(ctx context.Context, req *Request) (*Response, error)
	// ChatStream fails before the first event if the upstream refused the
	// request; later failures come from Stream.Next. The router falls back
	// to another target in the first case, and in the second while no
	// event with content has come (it holds the events before one).
	ChatStream(ctx context.Context, req *Request) (Stream, error)
}

// Embedder is a Provider that can also embed text. It is optional: the
// surface asks for it by type assertion and refuses embeddings for models
// whose provider lacks it.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}
