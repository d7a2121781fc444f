package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// keysCmd prints -n random keys of the relay's form ("ost_" and the
// base64url form of 32 random bytes and their big-endian CRC-32), which
// pass its format check and that no relay has stored.
func keysCmd(args []string) {
	fs := flag.NewFlagSet("keys", flag.ExitOnError)
	n := fs.Int("n", 100_000, "how many keys")
	_ = fs.Parse(args)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	buf := make([]byte, 36)
	for range *n {
		_, _ = rand.Read(buf[:32])
		binary.BigEndian.PutUint32(buf[32:], crc32.ChecksumIEEE(buf[:32]))
		fmt.Fprintln(out, "ost_"+base64.RawURLEncoding.EncodeToString(buf))
	}
}

// floodCmd sends one key check for each key of a file, -conc at a time,
// and counts the answers that are not 401.
func floodCmd(args []string) {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	u := fs.String("url", "", "the relay's key check URL")
	file := fs.String("keys", "", "a file of keys, one a line")
	conc := fs.Int("conc", 32, "requests at a time")
	_ = fs.Parse(args)
	data, err := os.ReadFile(*file)
	if *u == "" || err != nil {
		fail("flood: -url and a readable -keys file are required")
	}
	keys := strings.Fields(string(data))
	c := noRedirects(true)
	next := make(chan string)
	go func() {
		for _, k := range keys {
			next <- k
		}
		close(next)
	}()
	var mu sync.Mutex
	var took []time.Duration
	bad := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for k := range next {
				req, _ := http.NewRequest("GET", *u, nil)
				req.Header.Set("Authorization", "Bearer "+k)
				t0 := time.Now()
				res, err := c.Do(req)
				ok := err == nil && res.StatusCode == http.StatusUnauthorized
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				took = append(took, d)
				if !ok {
					bad++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	p50, p99 := percentiles(took)
	fmt.Printf("%.1f %.3f %.3f %d\n", float64(len(took))/elapsed.Seconds(), p50, p99, bad)
}

// headers is a repeatable -H flag.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func ttfbCmd(args []string) {
	fs := flag.NewFlagSet("ttfb", flag.ExitOnError)
	u := fs.String("url", "", "what to fetch")
	n := fs.Int("n", 200, "requests, one after the other")
	method := fs.String("method", "GET", "the method")
	body := fs.String("body", "", "the request body")
	var hs headers
	fs.Var(&hs, "H", "a request header, 'Name: value' (repeatable)")
	_ = fs.Parse(args)
	if *u == "" {
		fail("ttfb: -url is required")
	}
	c := noRedirects(false)
	var took []time.Duration
	errs := 0
	for range *n {
		req, err := http.NewRequest(*method, *u, strings.NewReader(*body))
		if err != nil {
			fail(err.Error())
		}
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			errs++
			continue
		}
		one := make([]byte, 1)
		_, err = io.ReadFull(res.Body, one)
		d := time.Since(t0)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			errs++
			continue
		}
		took = append(took, d)
	}
	p50, p99 := percentiles(took)
	fmt.Printf("%.3f %.3f %d\n", p50, p99, errs)
}
