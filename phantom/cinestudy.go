package phantom

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/cmrfm/cmrfm/cine"
)

// CineOptions configures CineStudy. The zero value renders 3-channel
// 128×128 videos over a 340 mm field of view with SNR 40.
type CineOptions struct {
	// Planning sets the matrix and field of view of every view.
	Planning Planning
	// Channels is 1, or 3 for the reference's (c, f, h, w) layout with three
	// identical channels (0 means 3).
	Channels int
	// Render sets noise, gain and shading; the contrast is always cine.
	Render RenderOptions
	// Workers bounds parallelism (0 means 1).
	Workers int
}

// CineStudy renders the subject's four cine views in memory, without
// writing DICOM: 4CH, 3CH and 2CH as one slice of s.Frames frames, SAX as
// the stack PlanSAX plans (base to apex) with SliceFrames marking the
// slices. Intensities map to uint8 as value/(1.2·gain)·255, clamped, so
// blood is near 212 and myocardium near 64. Truth() gives the labels.
func (s *Subject) CineStudy(ctx context.Context, key string, o CineOptions) (*cine.Study, error) {
	if o.Channels == 0 {
		o.Channels = 3
	}
	if o.Channels != 1 && o.Channels != 3 {
		return nil, fmt.Errorf("phantom: %d channels: want 1 or 3", o.Channels)
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	ro := o.Render.defaults()
	ro.Contrast = Cine
	type job struct {
		view  cine.View
		plane Plane
		slice int
	}
	var jobs []job
	for _, v := range []cine.View{cine.View4CH, cine.View3CH, cine.View2CH} {
		p, err := s.PlanLAX(v, o.Planning)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job{v, p, 0})
	}
	sax := s.PlanSAX(o.Planning)
	for k, p := range sax {
		jobs = append(jobs, job{cine.ViewSAX, p, k})
	}
	pl := o.Planning.defaults()
	F := s.Frames
	st := &cine.Study{Key: key, Views: map[cine.View]*cine.Video{}}
	for _, v := range []cine.View{cine.View4CH, cine.View3CH, cine.View2CH} {
		st.Views[v] = cine.NewVideo(o.Channels, F, pl.Rows, pl.Cols)
	}
	saxV := cine.NewVideo(o.Channels, F*len(sax), pl.Rows, pl.Cols)
	frames := make([]int, len(sax))
	for i := range frames {
		frames[i] = F
	}
	saxV.SliceFrames = cine.SliceFramesFor(frames)
	st.Views[cine.ViewSAX] = saxV

	times := FrameTimes(F)
	scale := float32(255 / (1.2 * ro.Gain))
	var wg sync.WaitGroup
	next := make(chan int)
	var firstErr error
	var mu sync.Mutex
	for range min(o.Workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := ctx.Err(); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				j := jobs[i]
				r := ro
				r.NoiseSeed = mix64(ro.NoiseSeed, uint64(i)) // distinct noise per plane
				imgs := s.Render(j.plane, times, r)
				v := st.Views[j.view]
				for f, img := range imgs {
					fi := j.slice*F + f
					for c := 0; c < o.Channels; c++ {
						dst := v.Frame(c, fi)
						for p, x := range img {
							dst[p] = uint8(math.Min(255, math.Max(0, float64(x*scale)+0.5)))
						}
					}
				}
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return st, nil
}
