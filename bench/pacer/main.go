// Command pace sends GET requests at a fixed rate (open loop) and prints latency
// percentiles measured from each request's due time, so a slow server cannot hide
// its delay by slowing the sender down (no coordinated omission). Python threads
// could not send 1,500 requests/s on the 2-core machine; this costs little CPU.
//
//	pace -url http://127.0.0.1:8000/api/v1/me -rate 1500 -duration 10s -H "Authorization: Bearer ..."
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	latency time.Duration
	status  int
}

func main() {
	url := flag.String("url", "", "URL to GET")
	rate := flag.Float64("rate", 100, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 32, "concurrent requests at most (keep-alive connections)")
	var hs headers
	flag.Var(&hs, "H", "a request header, 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "pace: -url and a positive -rate are required")
		os.Exit(2)
	}

	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns},
	}
	count := int(duration.Seconds() * *rate)
	interval := time.Duration(float64(time.Second) / *rate)
	due := make(chan time.Time, count)
	results := make([]result, 0, count)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for when := range due {
				status := get(client, *url, hs)
				mu.Lock()
				results = append(results, result{time.Since(when), status})
				mu.Unlock()
			}
		}()
	}
	start := time.Now().Add(100 * time.Millisecond)
	for k := 0; k < count; k++ {
		when := start.Add(time.Duration(k) * interval)
		time.Sleep(time.Until(when))
		due <- when
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)

	sort.Slice(results, func(i, j int) bool { return results[i].latency < results[j].latency })
	non2xx := 0
	for _, r := range results {
		if r.status < 200 || r.status > 299 {
			non2xx++
		}
	}
	pct := func(p float64) float64 {
		if len(results) == 0 {
			return 0
		}
		i := int(float64(len(results))*p) - 1
		if i < 0 {
			i = 0
		}
		return float64(results[i].latency.Microseconds()) / 1000
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"sent": len(results), "rps": float64(len(results)) / elapsed.Seconds(),
		"p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0), "non2xx": non2xx,
	})
}

// get answers the status, or 0 when no answer came.
func get(client *http.Client, url string, hs headers) int {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0
	}
	for _, h := range hs {
		if name, value, ok := strings.Cut(h, ":"); ok {
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
