package scrub

import (
	"strings"
	"testing"
)

func TestCleanStrings(t *testing.T) {
	c := newCleanStrings(2)
	long := func(s string) string { return s + strings.Repeat(".", minClean) }
	key := func(country, s string) [2]uint64 {
		k, ok := c.key(country, s, false)
		if !ok {
			t.Fatalf("key(%q) not kept", s)
		}
		return k
	}
	if _, ok := c.key("DE", "short", false); ok {
		t.Error("a short string is kept")
	}
	if key("DE", long("a")) == key("FR", long("a")) {
		t.Error("one key for two countries")
	}
	if raw, _ := c.key("DE", long("a"), true); raw == key("DE", long("a")) {
		t.Error("one key for text and raw JSON, which are scanned apart")
	}
	k1, k2, k3, k4 := key("", long("1")), key("", long("2")), key("", long("3")), key("", long("4"))
	c.add(k1)
	c.add(k2)
	c.add(k3) // turns the generation over: k1 and k2 are old
	if !c.has(k1) || !c.has(k3) {
		t.Fatal("lost a key of the last two generations")
	}
	c.add(k4) // turns over again: k1 was used, so it stays; k2 goes
	if c.has(k2) {
		t.Error("kept a key unused for two generations")
	}
	if !c.has(k1) || !c.has(k4) {
		t.Error("lost a key in use")
	}
	var nilSet *cleanStrings
	if _, ok := nilSet.key("", long("x"), false); ok {
		t.Error("a nil set keeps strings")
	}
}
