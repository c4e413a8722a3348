package lyumen

// Target is one place a public model can be served from.
type Target struct {
	Provider string // name of a configured provider
	Model    string // model name the upstream is asked for
	// Weight shares first attempts among targets for load balancing; the
	// others remain fallbacks in order. Zero: only a fallback (or, when all
	// are zero, plain order).
	Weight int
}

// Model is a public model name and where it is served.
type Model struct {
	Name    string
	OwnedBy string
	Targets []Target // in order of preference
	// MaxTokens caps the answer's length, whatever the client asks: the
	// operator pays for the tokens. Zero: no cap.
	MaxTokens int
}

// AnswerLimit is the most tokens an answer to req may have under the
// model's cap (0: the upstream's default), and whether the cap set it. A
// request to score a prompt only (ScoreOnly) asks for none, capped or not.
func (m *Model) AnswerLimit(req *Request) (n int, capped bool) {
	if m.MaxTokens > 0 && !req.ScoreOnly && (req.MaxTokens == 0 || req.MaxTokens > m.MaxTokens) {
		return m.MaxTokens, true
	}
	return req.MaxTokens, false
}

// Catalog maps public model names to their targets. It is built once at
// start and only read afterwards.
type Catalog struct {
	models []Model
	byName map[string]int
}

// NewCatalog builds a catalogue; a later model with the same name wins.
func NewCatalog(models []Model) *Catalog {
	c := &Catalog{byName: make(map[string]int, len(models))}
	for _, m := range models {
		if i, ok := c.byName[m.Name]; ok {
			c.models[i] = m
			continue
		}
		c.byName[m.Name] = len(c.models)
		c.models = append(c.models, m)
	}
	return c
}

// Lookup finds a public model by name.
func (c *Catalog) Lookup(name string) (Model, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Model{}, false
	}
	return c.models[i], true
}

// Models lists the catalogue in configuration order. The caller must not
// modify the result.
func (c *Catalog) Models() []Model { return c.models }
