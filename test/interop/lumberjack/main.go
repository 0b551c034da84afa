// lumberjack-client: Elastic's go-lumber client (the one Filebeat's output.logstash uses),
// driven from the command line so Tally's tests can talk to `tally beats` with a client that
// is not Tally's own. It sends -events events in windows of -window, compressed at
// -compression, with -pipelining windows in flight (0 = go-lumber's SyncClient), and prints one
// JSON line: how many events were sent and how many the server acknowledged.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	v2 "github.com/elastic/go-lumber/client/v2"
)

type report struct {
	Sent    int      `json:"sent"`
	Acked   int      `json:"acked"`
	Windows int      `json:"windows"`
	Errors  []string `json:"errors"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5044", "server address")
	events := flag.Int("events", 100, "events to send")
	window := flag.Int("window", 10, "events per window")
	compression := flag.Int("compression", 3, "zlib level, 0 = uncompressed")
	pipelining := flag.Int("pipelining", 2, "windows in flight; 0 = synchronous client")
	timeout := flag.Duration("timeout", 30*time.Second, "go-lumber timeout: dial, write per window, read per ack")
	run := flag.String("run", "run", "a tag put in every event")
	caFile := flag.String("ca", "", "CA of the server certificate (enables TLS)")
	certFile := flag.String("cert", "", "client certificate (TLS)")
	keyFile := flag.String("key", "", "client key (TLS)")
	flag.Parse()

	dial, err := dialer(*timeout, *caFile, *certFile, *keyFile)
	if err != nil {
		fail(err)
	}
	opts := []v2.Option{v2.CompressionLevel(*compression), v2.Timeout(*timeout)}
	batches := batchesOf(*events, *window, *run)
	out := report{Sent: *events, Errors: []string{}}

	if *pipelining == 0 {
		client, err := v2.SyncDialWith(dial, *addr, opts...)
		if err != nil {
			fail(err)
		}
		for _, batch := range batches {
			n, err := client.Send(batch)
			out.Acked += n
			out.Windows++
			if err != nil {
				out.Errors = append(out.Errors, err.Error())
				break
			}
		}
		_ = client.Close()
	} else {
		client, err := v2.AsyncDialWith(dial, *addr, *pipelining, opts...)
		if err != nil {
			fail(err)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, batch := range batches {
			wg.Add(1)
			err := client.Send(func(seq uint32, err error) {
				mu.Lock()
				defer mu.Unlock()
				out.Acked += int(seq)
				if err != nil {
					out.Errors = append(out.Errors, err.Error())
				}
				wg.Done()
			}, batch)
			out.Windows++
			if err != nil {
				break
			}
		}
		wg.Wait()
		_ = client.Close()
	}

	line, _ := json.Marshal(out)
	fmt.Println(string(line))
	if out.Acked != out.Sent {
		os.Exit(1)
	}
}

// batchesOf builds Filebeat-shaped events numbered 0..n-1, cut into windows.
func batchesOf(n, window int, run string) [][]interface{} {
	var batches [][]interface{}
	for start := 0; start < n; start += window {
		var batch []interface{}
		for i := start; i < n && i < start+window; i++ {
			message, _ := json.Marshal(map[string]interface{}{"timestamp": "2024-05-01T10:00:00Z", "serviceid": "interop", "level": "accounting", "userid": "u", "resource": "r", "action": "a", "run": run, "n": i})
			batch = append(batch, map[string]interface{}{
				"@timestamp": "2024-05-01T10:00:00.000Z",
				"@metadata":  map[string]interface{}{"beat": "filebeat", "type": "_doc", "version": "8.11.0"},
				"message":    string(message),
				"log":        map[string]interface{}{"offset": i * 100, "file": map[string]interface{}{"path": "/var/log/interop.json"}},
				"input":      map[string]interface{}{"type": "filestream"},
				"agent":      map[string]interface{}{"type": "go-lumber", "name": "interop"},
				"tags":       []string{"accounting", "<&>"},
				"n":          i,
			})
		}
		batches = append(batches, batch)
	}
	return batches
}

func dialer(timeout time.Duration, caFile, certFile, keyFile string) (func(network, address string) (net.Conn, error), error) {
	plain := &net.Dialer{Timeout: timeout}
	if caFile == "" {
		return plain.Dial, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return func(network, address string) (net.Conn, error) {
		return tls.DialWithDialer(plain, network, address, config)
	}, nil
}

func fail(err error) {
	line, _ := json.Marshal(report{Errors: []string{err.Error()}})
	fmt.Println(string(line))
	os.Exit(2)
}
