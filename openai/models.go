package openai

import (
	"encoding/json"

	"github.com/lyumen/lyumen"
)

type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func wireModel(m lyumen.Model, created int64) model {
	owner := m.OwnedBy
	if owner == "" {
		owner = "lyumen"
	}
	return model{ID: m.Name, Object: "model", Created: created, OwnedBy: owner}
}

// EncodeModels renders GET /v1/models. created is the gateway's start time:
// the catalogue has no other creation date to offer.
func EncodeModels(models []lyumen.Model, created int64) []byte {
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, len(models))}
	for i, m := range models {
		list.Data[i] = wireModel(m, created)
	}
	b, _ := json.Marshal(list)
	return b
}

// EncodeModel renders GET /v1/models/{id}.
func EncodeModel(m lyumen.Model, created int64) []byte {
	b, _ := json.Marshal(wireModel(m, created))
	return b
}
