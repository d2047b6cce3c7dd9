package yamlconf_test

import (
	"testing"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/train/finetune"
	"github.com/cmrfm/cmrfm/train/pretrain"
)

// FuzzConfigs feeds arbitrary YAML to the ingest, pretrain and finetune
// configuration readers and their checks: errors are fine (unknown keys,
// wrong types, bad values), panics and runaway alias expansion are not.
func FuzzConfigs(f *testing.F) {
	for _, s := range []string{
		"inputs: [/a, /b]\nout: /s\nframes: model\nwindow_percentiles: [1, 99]\nshard: 3/32\n",
		"trainer:\n  epochs: 3\n  batch_size: 2\noptimizer:\n  lr: 1e-4\n  betas: [0.9, 0.999]\n",
		"task: classification\ndata:\n  targets: [dcm, hcm]\n  fraction: 0.5\n",
		"a: &x [*x]\n", "{", "nope: 1\n", "lr: .inf\n",
		"a: &a [x,x,x,x]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nd: [*c,*c,*c,*c]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := yamlconf.Parse(b, ingest.Config{}); err == nil {
			ingest.CheckConfig(c)
		}
		if c, err := yamlconf.Parse(b, pretrain.TinyConfig(pretrain.PaperConfig())); err == nil {
			c.Validate()
		}
		if c, err := yamlconf.Parse(b, finetune.TinyConfig(finetune.RegressionConfig())); err == nil {
			c.Validate()
		}
	})
}
