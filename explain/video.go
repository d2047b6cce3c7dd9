package explain

import (
	"bytes"
	"errors"
	"fmt"
	"image/gif"
	"io"
	"os/exec"
	"strconv"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// Video formats.
const (
	// FormatMP4 is H.264 in MP4 (yuv420p), encoded by ffmpeg.
	FormatMP4 = "mp4"
	// FormatGIF is an animated GIF written in Go (no external tool).
	FormatGIF = "gif"
)

// FFmpeg returns the path of ffmpeg on PATH, or "" when there is none.
func FFmpeg() string {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return ""
	}
	return p
}

// VideoWriter writes videos in one format.
type VideoWriter struct {
	// Format is FormatMP4 or FormatGIF.
	Format string
	// FFmpeg is the ffmpeg executable (FormatMP4).
	FFmpeg string
	// FPS is the frame rate (0 means 20, the reference's output rate; the
	// reference also drops frames by reading its PNGs at 25 fps, which is
	// not reproduced: every frame is shown).
	FPS float64
}

// NewVideoWriter returns a writer for format "mp4", "gif" or "" (MP4 when
// ffmpeg is on PATH, else GIF). MP4 without ffmpeg is an error.
func NewVideoWriter(format string, fps float64) (*VideoWriter, error) {
	ff := FFmpeg()
	switch format {
	case "":
		format = FormatGIF
		if ff != "" {
			format = FormatMP4
		}
	case FormatMP4:
		if ff == "" {
			return nil, errors.New("explain: MP4 needs ffmpeg on PATH (Debian: apt-get install ffmpeg); --video-format gif needs nothing")
		}
	case FormatGIF:
	default:
		return nil, fmt.Errorf("explain: video format %q: want mp4 or gif", format)
	}
	return &VideoWriter{Format: format, FFmpeg: ff, FPS: fps}, nil
}

func (w *VideoWriter) fps() float64 {
	if w.FPS <= 0 {
		return 20
	}
	return w.FPS
}

// Ext is the file extension of the writer's videos, with the dot.
func (w *VideoWriter) Ext() string { return "." + w.Format }

// Write writes v to path (atomically: a temporary file renamed into place).
func (w *VideoWriter) Write(v *Video, path string) error {
	if len(v.Frames) == 0 {
		return fmt.Errorf("explain: %s: video without frames", path)
	}
	var err error
	if w.Format == FormatMP4 {
		err = fsutil.WriteAtomic(path, func(tmp string) error { return w.mp4(v, tmp) })
	} else {
		err = fsutil.WriteFileAtomic(path, func(f io.Writer) error { return w.gif(v, f) })
	}
	if err != nil {
		return fmt.Errorf("explain: writing %s: %w", path, err)
	}
	return nil
}

func (w *VideoWriter) gif(v *Video, f io.Writer) error {
	delay := max(int(100/w.fps()+0.5), 2)
	g := &gif.GIF{LoopCount: 0}
	for _, p := range v.Paletted {
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, delay)
	}
	return gif.EncodeAll(f, g)
}

// mp4 pipes the frames as raw RGB to ffmpeg's libx264.
func (w *VideoWriter) mp4(v *Video, out string) error {
	if v.W%2 != 0 || v.H%2 != 0 {
		return fmt.Errorf("yuv420p needs even sides, video is %d×%d", v.W, v.H)
	}
	raw := make([]byte, 0, len(v.Frames)*v.W*v.H*3)
	for _, f := range v.Frames {
		for y := range v.H {
			row := f.Pix[y*f.Stride : y*f.Stride+4*v.W]
			for x := 0; x < len(row); x += 4 {
				raw = append(raw, row[x], row[x+1], row[x+2])
			}
		}
	}
	fps := strconv.FormatFloat(w.fps(), 'g', -1, 64)
	cmd := exec.Command(w.FFmpeg, "-nostdin", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", v.W, v.H), "-r", fps, "-i", "-",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-threads", "1",
		"-movflags", "+faststart", "-f", "mp4", out)
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
