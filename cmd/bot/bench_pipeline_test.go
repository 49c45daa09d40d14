package main

import (
	"encoding/json"
	"testing"
)

func TestBenchPipelineSmall(t *testing.T) {
	out, _, err := runCmd(t, "bench", "pipeline", "-feeds", "3", "-items", "4", "-subs", "300", "-nosync", "-cycles-304", "1", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Feeds  int `json:"feeds"`
		Cycles []struct {
			Requests    int64 `json:"requests"`
			NotModified int64 `json:"not_modified"`
			NewStories  int64 `json:"new_stories"`
		} `json:"cycles"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if res.Feeds != 3 || len(res.Cycles) != 3 {
		t.Fatalf("result = %+v", res)
	}
	if c := res.Cycles[1]; c.NewStories != 12 || c.Requests != 3 {
		t.Errorf("new-content cycle = %+v, want 12 new stories from 3 requests", c)
	}
	if c := res.Cycles[2]; c.NotModified != 3 || c.NewStories != 0 {
		t.Errorf("304 cycle = %+v", c)
	}
}

func TestBenchUnknownSubcommand(t *testing.T) {
	if _, _, err := runCmd(t, "bench", "pipelines"); exitCode(err) != 2 {
		t.Errorf("bench pipelines: exit %d, want 2", exitCode(err))
	}
}
