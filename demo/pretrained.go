package demo

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// pretrainedVideo is the video tower (mvit-tiny) and projection of the
// phantom pretraining proof (docs/pretraining.md), made by
// demo/weights/make.sh: 30,768 parameters, 136 kB. PHANTOM-ONLY weights,
// trained on synthetic cine of an analytic heart: they mean nothing on real
// patients. The demo's fine-tuning starts from them, as a hospital's would
// start from its foundation model.
//
//go:embed weights/phantom-pretrained-video.safetensors
var pretrainedVideo []byte

// pretrainedVideoSHA256 pins the file: the demo refuses any other bytes.
const pretrainedVideoSHA256 = "f03dde68a75252db1c7d17e63fa9103c5bea5c99e6f406da691948c61ba6ea14"

// writePretrained checks the embedded weights against their pinned SHA-256
// and writes them to path (the fine-tuning stage's init.weights; loading
// verifies the tensor data's own checksum again).
func writePretrained(path string) error {
	sum := sha256.Sum256(pretrainedVideo)
	if got := hex.EncodeToString(sum[:]); got != pretrainedVideoSHA256 {
		return fmt.Errorf("demo: embedded pretrained weights have SHA-256 %s, want %s: rebuild from a clean checkout", got, pretrainedVideoSHA256)
	}
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(pretrainedVideo)
		return err
	})
}
