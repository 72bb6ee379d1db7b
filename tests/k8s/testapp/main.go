// Command testapp is the small HTTP service the Kubernetes tests deploy as a locally built image.
//
//	GET  /                 "hello from <hostname>"
//	GET  /resolve/N        the addresses N resolves to, one a line (Go's resolver, so the pod's resolv.conf)
//	PUT  /file?path=P      writes the request body to P (under -data only)
//	GET  /file?path=P      returns the content of P (under -data only)
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("listen", ":8080", "address to listen on")
	dataDir := flag.String("data", "/data", "directory /file may read and write")
	flag.Parse()
	host, _ := os.Hostname()

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	http.HandleFunc("/resolve/", func(w http.ResponseWriter, r *http.Request) {
		addrs, err := net.DefaultResolver.LookupHost(r.Context(), strings.TrimPrefix(r.URL.Path, "/resolve/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, strings.Join(addrs, "\n"))
	})
	http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		path := filepath.Clean(r.URL.Query().Get("path"))
		if !strings.HasPrefix(path, filepath.Clean(*dataDir)+"/") {
			http.Error(w, "path outside the data directory", http.StatusForbidden)
			return
		}
		switch r.Method {
		case http.MethodPut:
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err == nil {
				err = os.WriteFile(path, body, 0o644)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case http.MethodGet:
			body, err := os.ReadFile(path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Write(body)
		default:
			http.Error(w, "use GET or PUT", http.StatusMethodNotAllowed)
		}
	})
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
