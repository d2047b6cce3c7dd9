package ingest

import (
	"sort"
	"strings"
)

// duplicates groups written studies that share the pixels of a view.
func duplicates(entries []*Entry) [][]string {
	by := map[string][]string{}
	for _, e := range entries {
		if e.Status != StatusOK {
			continue
		}
		seen := map[string]bool{}
		for _, v := range e.Views {
			if !seen[v.PixelSHA256] {
				seen[v.PixelSHA256] = true
				by[v.PixelSHA256] = append(by[v.PixelSHA256], e.Key)
			}
		}
	}
	groups := map[string][]string{}
	for _, keys := range by {
		if len(keys) > 1 {
			sort.Strings(keys)
			keys = dedup(keys)
			if len(keys) > 1 {
				groups[strings.Join(keys, "\x00")] = keys
			}
		}
	}
	var out [][]string
	for _, g := range groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	for _, e := range entries {
		for _, g := range out {
			for _, k := range g {
				if k == e.Key {
					for _, o := range g {
						if o != k {
							e.Duplicates = append(e.Duplicates, o)
						}
					}
				}
			}
		}
	}
	return out
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
