// Package traintest holds the assertions the training packages' resume
// tests share: two runs — one interrupted and resumed, one not — must end
// with the same checkpoint bytes and the same metrics.
//
// It lives beside package train, as net/http/httptest lives beside
// net/http: it imports train and model/weights, and only tests import it.
package traintest
