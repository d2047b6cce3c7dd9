package cine

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"os"
	"os/exec"
	"sort"
)

// SliceClip returns the frames of slice k (0-based, base first for SAX).
func (v *Video) SliceClip(k int) (Clip, error) {
	sl := v.Slices()
	if k < 0 || k >= len(sl) {
		return Clip{}, fmt.Errorf("slice %d out of range: the view has %d slices", k, len(sl))
	}
	return sl[k], nil
}

// greyFrames returns clip c's frames of channel 0 as 8-bit planes. uint8
// videos are used as stored; float videos are windowed to their 0.5–99.5
// percentile range over the clip.
func (v *Video) greyFrames(c Clip) [][]uint8 {
	n := v.H * v.W
	out := make([][]uint8, 0, c.End-c.Start)
	if v.Pix != nil {
		for f := c.Start; f < c.End; f++ {
			out = append(out, v.Frame(0, f))
		}
		return out
	}
	vals := append([]float32(nil), v.Float[c.Start*n:c.End*n]...)
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	lo, hi := vals[len(vals)*5/1000], vals[(len(vals)-1)*995/1000]
	if hi <= lo {
		hi = lo + 1
	}
	for f := c.Start; f < c.End; f++ {
		src := v.Float[f*n : (f+1)*n]
		p := make([]uint8, n)
		for i, x := range src {
			y := (x - lo) / (hi - lo) * 255
			p[i] = uint8(min(max(y, 0), 255))
		}
		out = append(out, p)
	}
	return out
}

// WriteGIF writes clip c of channel 0 as a looping animated GIF at fps
// frames per second.
func (v *Video) WriteGIF(w io.Writer, c Clip, fps float64) error {
	if c.End <= c.Start {
		return errors.New("gif: empty clip")
	}
	if fps <= 0 {
		fps = 25
	}
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.Gray{Y: uint8(i)}
	}
	delay := int(100/fps + 0.5)
	g := &gif.GIF{LoopCount: 0}
	for _, fr := range v.greyFrames(c) {
		img := image.NewPaletted(image.Rect(0, 0, v.W, v.H), pal)
		copy(img.Pix, fr)
		g.Image = append(g.Image, img)
		g.Delay = append(g.Delay, max(delay, 2))
	}
	return gif.EncodeAll(w, g)
}

// WriteMP4 encodes clip c of channel 0 as H.264 MP4 with ffmpeg, which
// must be on PATH.
func (v *Video) WriteMP4(path string, c Clip, fps float64) error {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		return errors.New("mp4 needs ffmpeg on PATH (Debian: apt-get install ffmpeg); GIF needs nothing")
	}
	if fps <= 0 {
		fps = 25
	}
	w, h := v.W&^1, v.H&^1 // yuv420p needs even sizes
	cmd := exec.Command(ff, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
		"-s", fmt.Sprintf("%dx%d", v.W, v.H), "-r", fmt.Sprint(fps), "-i", "-",
		"-vf", fmt.Sprintf("crop=%d:%d:0:0", w, h), "-c:v", "libx264", "-pix_fmt", "yuv420p", path)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	for _, fr := range v.greyFrames(c) {
		if _, err := in.Write(fr); err != nil {
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}
	return nil
}
