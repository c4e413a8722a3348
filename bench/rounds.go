package bench

import "context"

// Measured is one target's results in one phase: each round's, and all
// of them merged.
type Measured struct {
	Total  Result
	Rounds []Result
}

// Interleave runs n rounds over targets. In each round every target runs
// once, and the order rotates by one a round, so every target takes every
// place: the machine's drifts fall on all alike. done is told of each run,
// and loads is sampled after each round. The results are by name.
func Interleave[T any](ctx context.Context, n int, targets []T, name func(T) string, run func(T) Result,
	done func(round int, t T, r Result), loads *LoadAverages) (map[string]*Measured, error) {
	results := make(map[string]*Measured, len(targets))
	for _, t := range targets {
		results[name(t)] = &Measured{}
	}
	for round := range n {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			res := run(t)
			m := results[name(t)]
			m.Rounds = append(m.Rounds, res)
			m.Total.Merge(res)
			done(round, t, res)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		loads.Sample()
	}
	return results, nil
}
