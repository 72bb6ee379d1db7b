// trivy-db-fixture writes a real trivy vulnerability DB (trivy.db + metadata.json) from a small JSON spec of
// synthetic advisories, with trivy-db's own code: the advisories enter through a vulnsrc.VulnSrc like the official
// sources, and vulndb.Build does the rest (the per-platform buckets, the normalised vulnerability records, the
// metadata with the schema version trivy expects). Tests use it to see a vulnerability gate fail and pass offline.
//
//	trivy-db-fixture -spec advisories.json -out <trivy cache dir>/db
//
// The spec:
//
//	{"valid_for": "720h",
//	 "advisories": [
//	   {"id": "CVE-2099-0001", "ecosystem": "debian", "release": "12", "package": "bash",
//	    "fixed_version": "5.2.99", "severity": "CRITICAL", "title": "synthetic"},
//	   {"id": "GHSA-xxxx-xxxx-xxxx", "ecosystem": "pip", "package": "flask",
//	    "vulnerable_versions": ["<3.2.0"], "patched_versions": [">=3.2.0"], "severity": "CRITICAL"}]}
//
// OS advisories name the source package (trivy looks Debian and Ubuntu advisories up by source package and
// compares the source version with fixed_version; no fixed_version means every version is affected). Language
// advisories name the package as the ecosystem spells it and give version ranges in its own syntax.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulndb"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
)

// sourceID marks every advisory of a fixture DB, so a report shows where a finding came from.
const sourceID types.SourceID = "iac-fixture"

var source = types.DataSource{ID: sourceID, Name: "IaC synthetic advisories (test fixture)"}

var osBuckets = map[string]func(string) bucket.Bucket{
	"alpine": bucket.NewAlpine,
	"debian": bucket.NewDebian,
	"ubuntu": bucket.NewUbuntu,
}

var langBuckets = map[string]func(types.DataSource) (bucket.DataSourceBucket, error){
	"cargo":    bucket.NewCargo,
	"composer": bucket.NewComposer,
	"go":       bucket.NewGo,
	"maven":    bucket.NewMaven,
	"npm":      bucket.NewNpm,
	"nuget":    bucket.NewNuGet,
	"pip":      bucket.NewPyPI,
	"rubygems": bucket.NewRubyGems,
}

type advisory struct {
	ID                 string   `json:"id"`
	Ecosystem          string   `json:"ecosystem"`
	Release            string   `json:"release"`
	Package            string   `json:"package"`
	FixedVersion       string   `json:"fixed_version"`
	VulnerableVersions []string `json:"vulnerable_versions"`
	PatchedVersions    []string `json:"patched_versions"`
	Severity           string   `json:"severity"`
	Title              string   `json:"title"`
}

type spec struct {
	ValidFor   string     `json:"valid_for"`
	Advisories []advisory `json:"advisories"`
}

func readSpec(path string) (spec, time.Duration, error) {
	var s spec
	raw, err := os.ReadFile(path)
	if err != nil {
		return s, 0, err
	}
	if err = json.Unmarshal(raw, &s); err != nil {
		return s, 0, fmt.Errorf("%s: %w", path, err)
	}
	validFor := 30 * 24 * time.Hour
	if s.ValidFor != "" {
		if validFor, err = time.ParseDuration(s.ValidFor); err != nil || validFor <= 0 {
			return s, 0, fmt.Errorf("%s: valid_for %q is not a positive duration such as 720h", path, s.ValidFor)
		}
	}
	// trivy-db's build walks the vulnerability IDs it was given and fails on none; a DB that matches nothing is
	// made with advisories for other packages or versions.
	if len(s.Advisories) == 0 {
		return s, 0, fmt.Errorf("%s: advisories is empty; give at least one", path)
	}
	for i, a := range s.Advisories {
		where := fmt.Sprintf("%s: advisories[%d]", path, i)
		if a.ID == "" || a.Package == "" {
			return s, 0, fmt.Errorf("%s: id and package are required", where)
		}
		if !slices.Contains(types.SeverityNames, a.Severity) {
			return s, 0, fmt.Errorf("%s: severity %q is not one of %v", where, a.Severity, types.SeverityNames)
		}
		_, isOS := osBuckets[a.Ecosystem]
		_, isLang := langBuckets[a.Ecosystem]
		switch {
		case isOS && a.Release == "":
			return s, 0, fmt.Errorf("%s: ecosystem %s needs a release (e.g. 12)", where, a.Ecosystem)
		case isLang && len(a.VulnerableVersions) == 0:
			return s, 0, fmt.Errorf("%s: ecosystem %s needs vulnerable_versions", where, a.Ecosystem)
		case !isOS && !isLang:
			return s, 0, fmt.Errorf("%s: unknown ecosystem %q", where, a.Ecosystem)
		}
	}
	return s, validFor, nil
}

// fixtureSource feeds the spec's advisories to vulndb.Build the way trivy-db's own sources feed theirs: an
// advisory detail per platform bucket, a vulnerability detail per source, the vulnerability ID, the data source.
type fixtureSource struct {
	advisories []advisory
}

func (fixtureSource) Name() types.SourceID { return sourceID }

func (f fixtureSource) Update(string) error {
	dbc := db.Config{}
	return dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range f.advisories {
			if err := put(dbc, tx, a); err != nil {
				return fmt.Errorf("%s (%s %s): %w", a.ID, a.Ecosystem, a.Package, err)
			}
		}
		return nil
	})
}

func put(dbc db.Config, tx *bolt.Tx, a advisory) error {
	severity, _ := types.NewSeverity(a.Severity)
	var platform string
	var detail types.Advisory
	if newOS, ok := osBuckets[a.Ecosystem]; ok {
		platform = newOS(a.Release).Name()
		detail = types.Advisory{FixedVersion: a.FixedVersion}
		if a.FixedVersion == "" {
			detail.Status = types.StatusAffected
		}
	} else {
		b, err := langBuckets[a.Ecosystem](source)
		if err != nil {
			return err
		}
		platform = b.Name()
		detail = types.Advisory{VulnerableVersions: a.VulnerableVersions, PatchedVersions: a.PatchedVersions}
	}
	if err := dbc.PutAdvisoryDetail(tx, a.ID, a.Package, []string{platform}, &detail); err != nil {
		return err
	}
	title := a.Title
	if title == "" {
		title = "synthetic advisory of a test fixture"
	}
	if err := dbc.PutVulnerabilityDetail(tx, a.ID, sourceID,
		types.VulnerabilityDetail{ID: a.ID, Severity: severity, Title: title}); err != nil {
		return err
	}
	if err := dbc.PutVulnerabilityID(tx, a.ID); err != nil {
		return err
	}
	return dbc.PutDataSource(tx, platform, source)
}

func run(specPath, outDir string) error {
	s, validFor, err := readSpec(specPath)
	if err != nil {
		return err
	}
	// A DB left from an earlier run would keep its advisories: each run starts from an empty file.
	if err = os.Remove(db.Path(outDir)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err = db.Init(outDir); err != nil {
		return err
	}
	defer db.Close()
	src := fixtureSource{advisories: s.Advisories}
	build := vulndb.New("", outDir, validFor, vulndb.WithVulnSrcs(map[types.SourceID]vulnsrc.VulnSrc{sourceID: src}))
	if err = build.Build([]string{string(sourceID)}); err != nil {
		return err
	}
	// DownloadedAt set as trivy sets it after a download: a trivy run without --skip-db-update then takes the DB as
	// fresh instead of replacing it (it downloads when DownloadedAt is zero).
	meta := metadata.NewClient(outDir)
	m, err := meta.Get()
	if err != nil {
		return err
	}
	m.DownloadedAt = m.UpdatedAt
	return meta.Update(m)
}

func main() {
	specPath := flag.String("spec", "", "JSON file of advisories (see the source's doc comment)")
	outDir := flag.String("out", "", "directory to write trivy.db and metadata.json to (trivy's <cache-dir>/db)")
	schema := flag.Bool("schema-version", false, "print the DB schema version this build writes and exit")
	flag.Parse()
	if *schema {
		fmt.Println(db.SchemaVersion)
		return
	}
	if *specPath == "" || *outDir == "" {
		fmt.Fprintln(os.Stderr, "usage: trivy-db-fixture -spec advisories.json -out DIR")
		os.Exit(2)
	}
	if err := run(*specPath, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db-fixture:", err)
		os.Exit(1)
	}
}
