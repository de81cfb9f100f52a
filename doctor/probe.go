package doctor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync/webhook"
)

// A test delivery checks the path Shopify's webhooks take: through the
// public webhooks.address (DNS, TLS, the reverse proxy) to the daemon's
// receiver, signed as Shopify signs. It cannot be abused:
//
//   - it is a webhook with the topic TestTopic, signed with a configured
//     webhook key: without the key it is refused like any bad delivery
//     (and counted as such);
//   - its body is a nonce and a time; one older or newer than
//     testDeliveryWindow is refused, so a captured one cannot be replayed
//     later;
//   - the receiver stores nothing: it remembers the last few nonces in
//     memory and answers 200 with a proof, the nonce's HMAC under the key
//     that verified it, so the sender knows shopsync answered (not any
//     server answering 200) and with the same key.

// TestTopic is the X-Shopify-Topic of shopsync's test deliveries. Shopify
// never sends it.
const TestTopic = "shopsync/test_delivery"

const (
	testDeliveryWindow = 10 * time.Minute
	maxTestBody        = 1 << 10
	proofLabel         = "shopsync test delivery proof:"
	keptNonces         = 16
)

type testBody struct {
	Nonce  string    `json:"nonce"`
	SentAt time.Time `json:"sent_at"`
}

type testAnswer struct {
	Proof string `json:"proof"`
}

func proof(secret []byte, nonce string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(proofLabel + nonce))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestReceiver answers shopsync's test deliveries in front of the webhook
// receiver; every other request, and a test delivery it cannot verify,
// goes to the receiver (which refuses a bad one and counts it).
type TestReceiver struct {
	next    http.Handler
	shop    string
	secrets [][]byte
	now     func() time.Time

	mu     gosync.Mutex
	nonces []string // the last keptNonces received
	lastAt time.Time
}

// NewTestReceiver wraps next, the webhook receiver, for the shop's
// myshopify domain and the keys deliveries may be signed with.
func NewTestReceiver(next http.Handler, shop string, secrets []string) *TestReceiver {
	tr := &TestReceiver{next: next, shop: shop, now: time.Now}
	for _, s := range secrets {
		if s != "" {
			tr.secrets = append(tr.secrets, []byte(s))
		}
	}
	return tr
}

func (tr *TestReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Shopify-Topic") != TestTopic || r.ContentLength > maxTestBody {
		tr.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTestBody+1))
	if err != nil || len(body) > maxTestBody {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	var key []byte
	sig := r.Header.Get("X-Shopify-Hmac-Sha256")
	for _, s := range tr.secrets {
		if webhook.Verify(body, sig, [][]byte{s}) {
			key = s
		}
	}
	if key == nil || !equalFoldASCII(r.Header.Get("X-Shopify-Shop-Domain"), tr.shop) {
		// Not ours to judge: the receiver refuses it with its reason.
		r.Body = io.NopCloser(bytes.NewReader(body))
		tr.next.ServeHTTP(w, r)
		return
	}
	var tb testBody
	now := tr.now()
	if json.Unmarshal(body, &tb) != nil || tb.Nonce == "" || len(tb.Nonce) > 64 ||
		now.Sub(tb.SentAt) > testDeliveryWindow || tb.SentAt.Sub(now) > testDeliveryWindow {
		http.Error(w, "stale or malformed test delivery", http.StatusBadRequest)
		return
	}
	tr.mu.Lock()
	tr.nonces = append(tr.nonces, tb.Nonce)
	if len(tr.nonces) > keptNonces {
		tr.nonces = tr.nonces[len(tr.nonces)-keptNonces:]
	}
	tr.lastAt = now
	tr.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(testAnswer{Proof: proof(key, tb.Nonce)})
}

// Received reports whether this receiver answered the test delivery with
// the nonce.
func (tr *TestReceiver) Received(nonce string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, n := range tr.nonces {
		if n == nonce {
			return true
		}
	}
	return false
}

// LastAt returns when the last test delivery arrived; zero if none has.
func (tr *TestReceiver) LastAt() time.Time {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.lastAt
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// TestDelivery is the outcome of SendTestDelivery.
type TestDelivery struct {
	Nonce   string
	Status  int           // the HTTP status; 0 when nothing answered
	Latency time.Duration // from sending to the whole answer
	Proven  bool          // the answer proves shopsync verified it with the same key
}

// SendTestDelivery posts a signed test delivery to address, as Shopify
// would post a webhook for shop, and reads the answer. err is a failure to
// get any answer (DNS, refused, TLS, timeout); an answer that is not a
// proof comes back with Proven false.
func SendTestDelivery(ctx context.Context, client *http.Client, address, shop, secret string, now time.Time) (TestDelivery, error) {
	var td TestDelivery
	var b [16]byte
	rand.Read(b[:])
	td.Nonce = hex.EncodeToString(b[:])
	body, err := json.Marshal(testBody{Nonce: td.Nonce, SentAt: now.UTC()})
	if err != nil {
		return td, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		return td, fmt.Errorf("test delivery: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", TestTopic)
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign(body, []byte(secret)))
	req.Header.Set("X-Shopify-Shop-Domain", shop)
	req.Header.Set("X-Shopify-Webhook-Id", "shopsync-test-"+td.Nonce)
	req.Header.Set("X-Shopify-Triggered-At", now.UTC().Format(time.RFC3339Nano))
	req.Header.Set("User-Agent", "shopsync-doctor")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return td, fmt.Errorf("test delivery: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	td.Latency = time.Since(start)
	td.Status = resp.StatusCode
	if err != nil {
		return td, fmt.Errorf("test delivery: read the answer: %w", err)
	}
	var ta testAnswer
	if resp.StatusCode == http.StatusOK && json.Unmarshal(answer, &ta) == nil {
		td.Proven = hmac.Equal([]byte(ta.Proof), []byte(proof([]byte(secret), td.Nonce)))
	}
	return td, nil
}
