package explain

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// SheetRow is one labelled row of a contact sheet.
type SheetRow struct {
	Label string
	// Cells are the row's images with their captions.
	Cells   []image.Image
	Caption []string
}

// ContactSheet lays rows of frames out as one image under a title line: a
// label column, then the row's cells, each scaled (nearest) to cell×cell
// pixels with its caption underneath. Rows may have different lengths.
func ContactSheet(title string, rows []SheetRow, cell int) *image.RGBA {
	const labelW, pad, capH, titleH = 78, 4, 14, 20
	cols := 1
	for _, r := range rows {
		cols = max(cols, len(r.Cells))
	}
	rowH := cell + capH + pad
	W := max(labelW+cols*(cell+pad)+pad, 7*len(title)+2*pad)
	H := titleH + len(rows)*rowH + pad
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	xdraw.Draw(img, img.Bounds(), image.White, image.Point{}, xdraw.Src)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	text := func(s string, x, y int) {
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	text(title, pad, 14)
	for i, r := range rows {
		y0 := titleH + pad + i*rowH
		text(r.Label, pad, y0+cell/2+4)
		for j, c := range r.Cells {
			x0 := labelW + j*(cell+pad)
			xdraw.NearestNeighbor.Scale(img, image.Rect(x0, y0, x0+cell, y0+cell), c, c.Bounds(), xdraw.Src, nil)
			if j < len(r.Caption) {
				text(r.Caption[j], x0, y0+cell+capH-3)
			}
		}
	}
	return img
}

// writePNG writes img to path atomically.
func writePNG(path string, img image.Image) error {
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("explain: writing %s: %w", path, err)
	}
	return nil
}
