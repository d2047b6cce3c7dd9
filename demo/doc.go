// Package demo runs every pipeline stage that exists on the built-in phantom
// cohort, writing all outputs under one folder, and summarises what it did.
// Each stage is a function of (ctx, *Run); later stages read what earlier
// ones wrote, exactly as a user's own run of the separate commands would.
package demo
