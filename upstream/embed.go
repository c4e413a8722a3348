package upstream

import (
	"context"

	"github.com/lyumen/lyumen"
)

var (
	_ lyumen.Embedder = (*Pool)(nil)
	_ lyumen.Embedder = (*Keys)(nil)
)

// Embed embeds on the first target that answers, falling back as Chat
// does. A target whose provider cannot embed ends the search with a 400:
// the catalogue maps an embedding model to providers that embed, so such a
// target is a mistake in the configuration, not an outage to route around.
func (p *Pool) Embed(ctx context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	route := &lyumen.Request{Surface: req.Surface, Model: req.Model, OnAttempt: req.OnAttempt}
	return try(ctx, p, route, func(prov lyumen.Provider, ctx context.Context, r *lyumen.Request) (*lyumen.EmbedResponse, error) {
		er := *req
		er.Model = r.Model
		return embed(ctx, prov, &er)
	})
}

// Embed embeds with the next key.
func (k *Keys) Embed(ctx context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	route := &lyumen.Request{Surface: req.Surface, Model: req.Model}
	return rotate(ctx, k, route, func(prov lyumen.Provider, ctx context.Context, _ *lyumen.Request) (*lyumen.EmbedResponse, error) {
		return embed(ctx, prov, req)
	})
}

func embed(ctx context.Context, prov lyumen.Provider, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	e, ok := prov.(lyumen.Embedder)
	if !ok {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "model", Message: "this model's provider does not support embeddings", Elsewhere: true}
	}
	return e.Embed(ctx, req)
}
