package explain

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sync"
)

// Names of a clip's files (the reference's names where it has them:
// input_video and layer_LL_head_HH). The extension is the video format's.
const (
	InputVideoName   = "input_video"
	RolloutName      = "rollout"
	ContactSheetName = "contact_sheet.png"
)

// HeadVideoName is the base name of block layer's head video, as the
// reference names it (layer_05_head_02).
func HeadVideoName(layer, head int) string { return fmt.Sprintf("layer_%02d_head_%02d", layer, head) }

// GridVideoName is the base name of block layer's grid video (all heads
// tiled).
func GridVideoName(layer int) string { return fmt.Sprintf("layer_%02d_grid", layer) }

// ClipAttention is one clip as the encoder saw it, with every block's
// attention maps.
type ClipAttention struct {
	// Input is the network input [Channels, T, H, W] (normalised).
	Input    []float32
	Channels int
	Blocks   []BlockAttention
	// Title heads the contact sheet (study, clip, model).
	Title string
}

// shown returns the channel the input video shows: channel 1, as the
// reference (channel 0 for one-channel input).
func (c ClipAttention) shown(in int) ([]float32, error) {
	if c.Channels <= 0 || len(c.Input) != c.Channels*in {
		return nil, fmt.Errorf("explain: input clip holds %d values, want %d channels × %d", len(c.Input), c.Channels, in)
	}
	ch := min(1, c.Channels-1)
	return c.Input[ch*in : (ch+1)*in], nil
}

// ClipFiles lists what [RenderClip] wrote, relative to Dir (which the
// manifest gives relative to the output folder).
type ClipFiles struct {
	Dir   string `json:"dir"`
	Input string `json:"input_video"`
	// Heads[l][h] is block l's head h video.
	Heads        [][]string `json:"heads"`
	Rollout      string     `json:"rollout,omitempty"`
	Grids        []string   `json:"grids,omitempty"`
	ContactSheet string     `json:"contact_sheet,omitempty"`
}

// Count is the number of files.
func (f *ClipFiles) Count() int {
	n := 1 + len(f.Grids)
	for _, h := range f.Heads {
		n += len(h)
	}
	if f.Rollout != "" {
		n++
	}
	if f.ContactSheet != "" {
		n++
	}
	return n
}

// ClipRender says how clips are rendered.
type ClipRender struct {
	Layout Layout
	Render RenderOptions
	Writer *VideoWriter
	// NoRollout, NoGrids and NoSheet leave those outputs out.
	NoRollout, NoGrids, NoSheet bool
	// Workers encode videos in parallel (0 means 1).
	Workers int
	// SheetCell is the contact sheet's cell side in pixels (0 means 112).
	SheetCell int
}

// RenderClip writes one clip's videos into dir: the input clip, one video
// per head of every block, the rollout, one grid per block and the
// contact sheet (the middle frame of each).
func RenderClip(ctx context.Context, r ClipRender, c ClipAttention, dir string) (*ClipFiles, error) {
	l := r.Layout
	if len(c.Blocks) != len(l.Blocks) {
		return nil, fmt.Errorf("explain: clip has attention of %d blocks, the architecture %d", len(c.Blocks), len(l.Blocks))
	}
	for i, b := range c.Blocks {
		if err := b.check(i, l.Blocks[i]); err != nil {
			return nil, err
		}
	}
	shown, err := c.shown(l.Input.Tokens())
	if err != nil {
		return nil, err
	}
	rd, err := NewRenderer(l.Input, shown, r.Render)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	ext := r.Writer.Ext()
	files := &ClipFiles{Dir: dir, Input: InputVideoName + ext}
	mid := l.Input[0] / 2
	in := rd.InputVideo()
	if err := r.Writer.Write(in, filepath.Join(dir, files.Input)); err != nil {
		return nil, err
	}
	var sheet []SheetRow
	first := SheetRow{Label: "input", Cells: []image.Image{in.Frames[mid]}, Caption: []string{"frame " + fmt.Sprint(mid)}}
	if !r.NoRollout {
		m, err := Rollout(l, c.Blocks)
		if err != nil {
			return nil, err
		}
		v, err := rd.MapVideo(m, l.Patch)
		if err != nil {
			return nil, err
		}
		files.Rollout = RolloutName + ext
		if err := r.Writer.Write(v, filepath.Join(dir, files.Rollout)); err != nil {
			return nil, err
		}
		first.Cells, first.Caption = append(first.Cells, v.Frames[mid]), append(first.Caption, "rollout")
	}
	sheet = append(sheet, first)
	for li, b := range c.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		maps := CLSMaps(b)
		videos := make([]*Video, len(maps))
		names := make([]string, len(maps))
		errs := make([]error, len(maps))
		sem := make(chan struct{}, max(r.Workers, 1))
		var wg sync.WaitGroup
		for h := range maps {
			names[h] = HeadVideoName(li, h) + ext
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				v, err := rd.MapVideo(maps[h], l.Blocks[li].Q)
				if err == nil {
					err = r.Writer.Write(v, filepath.Join(dir, names[h]))
				}
				videos[h], errs[h] = v, err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		files.Heads = append(files.Heads, names)
		row := SheetRow{Label: fmt.Sprintf("layer %02d", li)}
		for h, v := range videos {
			row.Cells = append(row.Cells, v.Frames[mid])
			row.Caption = append(row.Caption, fmt.Sprintf("head %02d", h))
		}
		sheet = append(sheet, row)
		if !r.NoGrids {
			cols := len(videos)
			if cols > 4 {
				cols = (cols + 1) / 2
			}
			g, err := Grid(videos, cols, 2)
			if err != nil {
				return nil, err
			}
			name := GridVideoName(li) + ext
			if err := r.Writer.Write(g, filepath.Join(dir, name)); err != nil {
				return nil, err
			}
			files.Grids = append(files.Grids, name)
		}
	}
	if !r.NoSheet {
		cell := r.SheetCell
		if cell <= 0 {
			cell = 112
		}
		title := c.Title
		if title == "" {
			title = filepath.Base(dir)
		}
		title += fmt.Sprintf(" - magma, %s min-max", r.Render.Scale)
		if r.Render.Overlay {
			title += ", overlay"
		}
		if err := writePNG(filepath.Join(dir, ContactSheetName), ContactSheet(title, sheet, cell)); err != nil {
			return nil, err
		}
		files.ContactSheet = ContactSheetName
	}
	return files, nil
}
