package dicom

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// gdcmTimeout bounds one gdcmconv run.
const gdcmTimeout = 2 * time.Minute

// decodeWithGDCM decompresses f with `gdcmconv --raw` (Debian package
// libgdcm-tools) into a temporary file and decodes the result natively. It
// returns errNoGDCM when gdcmconv is not installed.
func (f *File) decodeWithGDCM(opt DecodeOptions) (*Pixels, error) {
	bin, err := exec.LookPath("gdcmconv")
	if err != nil {
		return nil, errNoGDCM
	}
	src := f.Path
	if src == "" {
		return nil, f.err("decode", -1, errf(ErrUnsupportedTransferSyntax, "GDCM fallback needs a file on disk"))
	}
	dir, err := os.MkdirTemp("", "cmrfm-gdcm-")
	if err != nil {
		return nil, f.err("decode", -1, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "raw.dcm")
	ctx, cancel := context.WithTimeout(context.Background(), gdcmTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--raw", src, out)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, f.err("decode", -1, errf(ErrCorruptFrame, "gdcmconv --raw failed: %v: %s", err, bytes.TrimSpace(stderr.Bytes())))
	}
	raw, err := ReadFile(out)
	if err != nil {
		return nil, f.err("decode", -1, errf(ErrCorruptFrame, "gdcmconv output: %v", err))
	}
	if raw.TransferSyntax.Encapsulated {
		return nil, f.err("decode", -1, errf(ErrUnsupportedTransferSyntax, "gdcmconv --raw left transfer syntax %s", raw.TransferSyntax.UID))
	}
	raw.Path = f.Path
	opt.GDCMFallback = false
	return raw.Decode(opt)
}
