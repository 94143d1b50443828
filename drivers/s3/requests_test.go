package s3

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/objstore-go/objstore"
)

// TestRequests checks the requests each operation sends: no operation
// sends a HeadObject it does not need, a Get's Reader carries the whole
// object's attributes from the GET alone, and a zero-length range is
// answered without asking HTTP for zero bytes.
func TestRequests(t *testing.T) { eachServer(t, testRequests) }

func testRequests(t *testing.T) {
	s, rec := openTest(t, &Options{PartSize: 5 << 20})
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789"), 10)
	if _, err := s.Put(ctx, "k", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	get := func(r *objstore.Range, wantOff, wantLen int64) func() error {
		return func() error {
			rd, err := s.Get(ctx, "k", &objstore.GetOptions{Range: r})
			if err != nil {
				return err
			}
			defer rd.Close()
			got, err := io.ReadAll(rd)
			if rd.Attrs.Size != 100 || rd.Offset != wantOff || rd.Length != wantLen || !bytes.Equal(got, data[wantOff:wantOff+wantLen]) {
				t.Errorf("Get(%+v): Size %d Offset %d Length %d, %d bytes", r, rd.Attrs.Size, rd.Offset, rd.Length, len(got))
			}
			return err
		}
	}
	large := func(o objstore.PutOptions) func() error {
		return func() error {
			body, _ := stream(6, 11<<20)
			o.PartSize = 5 << 20
			_, err := s.Put(ctx, "large", body, &o)
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
		want []string
	}{
		{"Put", func() error { _, err := s.Put(ctx, "p", bytes.NewReader(data), nil); return err }, []string{"PutObject"}},
		{"Put of unknown size", func() error { _, err := s.Put(ctx, "p", struct{ io.Reader }{bytes.NewReader(data)}, nil); return err }, []string{"PutObject"}},
		{"Put IfAbsent", func() error {
			_, err := s.Put(ctx, "p2", bytes.NewReader(data), &objstore.PutOptions{IfAbsent: true})
			return err
		}, []string{"PutObject"}},
		{"Stat", func() error { _, err := s.Stat(ctx, "k"); return err }, []string{"HeadObject"}},
		{"Get", get(nil, 0, 100), []string{"GetObject"}},
		{"Get a range", get(&objstore.Range{Offset: 10, Length: 20}, 10, 20), []string{"GetObject"}},
		{"Get to the end", get(&objstore.Range{Offset: 90, Length: -1}, 90, 10), []string{"GetObject"}},
		{"Get zero bytes", get(&objstore.Range{Offset: 5, Length: 0}, 5, 0), []string{"HeadObject"}},
		{"Get at the end", get(&objstore.Range{Offset: 100, Length: 5}, 100, 0), []string{"GetObject", "HeadObject"}},
		{"Delete", func() error { return s.Delete(ctx, "p2") }, []string{"DeleteObject"}},
		{"List", func() error {
			for _, err := range s.List(ctx, nil) {
				if err != nil {
					return err
				}
			}
			return nil
		}, []string{"ListObjectsV2"}},
		{"Copy", func() error { _, err := s.Copy(ctx, "c", "k", nil); return err }, []string{"HeadObject", "CopyObject"}},
		{"multipart Put", large(objstore.PutOptions{}),
			[]string{"CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"}},
		{"multipart Put IfMatch", func() error {
			a, err := s.Stat(ctx, "large")
			if err != nil {
				return err
			}
			rec.reset()
			return large(objstore.PutOptions{IfMatch: a.ETag})()
		}, []string{"HeadObject", "CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.reset()
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			ops, _, _ := rec.snapshot()
			slices.Sort(ops)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ops, want) {
				t.Errorf("requests %v; want %v", ops, want)
			}
		})
	}
}
