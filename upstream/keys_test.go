package upstream_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/upstream"
)

func TestKeys(t *testing.T) {
	k1, k2, k3 := &provider{name: "k1"}, &provider{name: "k2"}, &provider{name: "k3"}
	keys := upstream.NewKeys([]lyumen.Provider{k1, k2, k3})
	var served []string
	for range 6 {
		resp, err := keys.Chat(t.Context(), &lyumen.Request{})
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, resp.ID)
	}
	if diff := cmp.Diff([]string{"k1", "k2", "k3", "k1", "k2", "k3"}, served); diff != "" {
		t.Errorf("keys not used in turn (-want +got):\n%s", diff)
	}

	k1.fail = failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 429})
	resp, err := keys.Chat(t.Context(), &lyumen.Request{}) // k1's turn: throttled, k2 serves
	if err != nil || resp.ID != "k2" {
		t.Errorf("throttled key: served by %v, %v; want k2", resp, err)
	}
	k1.fail = failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 402})
	resp, err = upstream.NewKeys([]lyumen.Provider{k1, k2}).Chat(t.Context(), &lyumen.Request{}) // k1's account is out of credit
	if err != nil || resp.ID != "k2" {
		t.Errorf("key of an account out of credit: served by %v, %v; want k2", resp, err)
	}
	k1.fail = failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 500})
	keys = upstream.NewKeys([]lyumen.Provider{k1, k2})
	if _, err := keys.ChatStream(t.Context(), &lyumen.Request{}); err == nil {
		t.Error("a 500 is the upstream's, not the key's: no other key should be tried")
	}
}
