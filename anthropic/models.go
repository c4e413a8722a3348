package anthropic

import (
	"encoding/json"
	"time"

	"github.com/lyumen/lyumen"
)

// modelInfo is a model as Anthropic's Models API describes it. The rest of
// Anthropic's fields (capabilities, token limits, lifecycle) are the
// upstream's to know, not the catalogue's: they are left out.
type modelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"` // RFC 3339
}

func wireModel(m lyumen.Model, created time.Time) modelInfo {
	return modelInfo{Type: "model", ID: m.Name, DisplayName: m.Name, CreatedAt: created.UTC().Format(time.RFC3339)}
}

// EncodeModels renders GET /v1/models as Anthropic's SDKs read it: the
// whole catalogue as one page. created is the gateway's start time: the
// catalogue has no other creation date to offer.
func EncodeModels(models []lyumen.Model, created time.Time) []byte {
	page := struct {
		Data    []modelInfo `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"` // null on an empty page
		LastID  *string     `json:"last_id"`
	}{Data: make([]modelInfo, len(models))}
	for i, m := range models {
		page.Data[i] = wireModel(m, created)
	}
	if n := len(page.Data); n > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[n-1].ID
	}
	b, _ := json.Marshal(page) // cannot fail: plain types only
	return b
}

// EncodeModel renders GET /v1/models/{id}.
func EncodeModel(m lyumen.Model, created time.Time) []byte {
	b, _ := json.Marshal(wireModel(m, created)) // cannot fail: plain types only
	return b
}
