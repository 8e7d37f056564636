// tests/preload/cxx_prog.cc -- a C++17 program that knows nothing of uslub,
// run by tests/preload/programs.sh under glibc and under the preload
// library: the standard containers, threads handing objects to each other,
// exceptions thrown many times, and every form of operator new and delete
// (plain, array, nothrow, sized, aligned, failing, with a new_handler).
//
// Prints one line per check ("ok - ..." or "FAIL - ...") and last a
// checksum of everything it computed; the output depends on nothing that
// may differ between allocators (no addresses, no thread interleaving), so
// the two runs must print the same bytes.  Exits 0 iff every check passed.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

int failures;
std::uint64_t checksum = 14695981039346656037ULL;

// FNV-1a over 64-bit words; called from the main thread only, in an order
// fixed by the program.
void mix(std::uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		checksum ^= (v >> (8 * i)) & 0xff;
		checksum *= 1099511628211ULL;
	}
}

void mix(const std::string &s)
{
	mix(s.size());
	for (unsigned char c : s)
		mix(c);
}

void check(bool ok, const std::string &what)
{
	std::printf("%s - %s\n", ok ? "ok" : "FAIL", what.c_str());
	if (!ok)
		failures++;
}

// The compiler may not assume anything about a size read from here, so
// no huge constant reaches operator new where gcc would warn about it.
volatile std::size_t huge_sizes[] = {
	std::numeric_limits<std::size_t>::max(),
	std::numeric_limits<std::size_t>::max() - 4096,
	std::numeric_limits<std::size_t>::max() / 2,
	std::size_t(1) << 62,
	std::size_t(1) << 47,
};
// Aligned new rounds the size up to the alignment first (libstdc++), which
// would wrap near SIZE_MAX: only sizes that leave room for it.
volatile std::size_t huge_aligned_sizes[] = {
	std::numeric_limits<std::size_t>::max() / 2,
	std::size_t(1) << 62,
	std::size_t(1) << 47,
};

bool aligned(const void *p, std::size_t align)
{
	return reinterpret_cast<std::uintptr_t>(p) % align == 0;
}

// Writes a pattern over n bytes and reads it back.
bool usable(void *p, std::size_t n, unsigned seed)
{
	auto *b = static_cast<unsigned char *>(p);
	for (std::size_t i = 0; i < n; i++)
		b[i] = static_cast<unsigned char>(i * 31 + seed);
	for (std::size_t i = 0; i < n; i++)
		if (b[i] != static_cast<unsigned char>(i * 31 + seed))
			return false;
	return true;
}

// A deterministic word of text of a length from 1 to 80.
std::string word(unsigned i)
{
	std::string s;
	unsigned len = 1 + (i * 2654435761u >> 7) % 80;
	for (unsigned k = 0; k < len; k++)
		s += static_cast<char>('a' + (i + k * 7) % 26);
	return s;
}

// ==========================================================================
// Containers
// ==========================================================================

struct Node {
	int value;
	std::vector<std::shared_ptr<Node>> children;
	std::weak_ptr<Node> parent;
	std::string label;
};

std::uint64_t tree_sum(const std::shared_ptr<Node> &n)
{
	std::uint64_t s = n->value + n->label.size();
	for (const auto &c : n->children)
		s += tree_sum(c);
	return s;
}

void test_containers()
{
	std::vector<std::string> words;
	for (unsigned i = 0; i < 30000; i++)
		words.push_back(word(i));
	std::sort(words.begin(), words.end());
	check(std::is_sorted(words.begin(), words.end()),
	      "vector<string> of 30000 sorted");
	for (std::size_t i = 0; i < words.size(); i += 97)
		mix(words[i]);

	std::map<std::string, int> counts;
	for (const auto &w : words)
		counts[w.substr(0, 3)]++;
	int total = 0;
	for (const auto &kv : counts) {
		mix(kv.first);
		mix(kv.second);
		total += kv.second;
	}
	check(total == 30000, "map<string, int> counts add up");

	std::unordered_map<int, std::vector<int>> buckets;
	for (int i = 0; i < 100000; i++)
		buckets[i % 1009].push_back(i);
	for (int i = 0; i < 1009; i += 2)
		buckets.erase(i);
	buckets.rehash(4096);
	std::uint64_t usum = 0;
	std::size_t elems = 0;
	for (const auto &kv : buckets) {
		usum += kv.first * 1000003ULL +
		    std::accumulate(kv.second.begin(), kv.second.end(), 0ULL);
		elems += kv.second.size();
	}
	mix(usum);
	check(buckets.size() == 504 && elems == 49950,
	      "unordered_map<int, vector<int>> after erase and rehash");

	// A tree of shared_ptr with weak parents, dropped from the root.
	auto root = std::make_shared<Node>();
	root->value = 1;
	std::vector<std::shared_ptr<Node>> level{root};
	int next = 2;
	for (int depth = 0; depth < 7; depth++) {
		std::vector<std::shared_ptr<Node>> below;
		for (auto &n : level)
			for (int k = 0; k < 4; k++) {
				auto c = std::make_shared<Node>();
				c->value = next++;
				c->parent = n;
				c->label = word(next);
				n->children.push_back(c);
				below.push_back(c);
			}
		level.swap(below);
	}
	std::weak_ptr<Node> leaf = level.back();
	mix(tree_sum(root));
	bool parent_alive = !leaf.lock()->parent.expired();
	level.clear();
	root.reset();
	check(parent_alive && leaf.expired(),
	      "shared_ptr tree of 21845 nodes freed from the root");

	// Strings growing past several reallocations, one to megabytes.
	std::string big;
	for (unsigned i = 0; big.size() < (3u << 20); i++)
		big += word(i);
	std::vector<char> bytes(big.begin(), big.end());
	bytes.resize(8u << 20, 'x');
	std::uint64_t bsum = 0;
	for (std::size_t i = 0; i < bytes.size(); i += 4093)
		bsum = bsum * 31 + bytes[i];
	mix(bsum);
	check(bytes.size() == (8u << 20), "string of 3 MiB, vector of 8 MiB");
}

// ==========================================================================
// Threads passing objects around a ring
// ==========================================================================

struct Msg {
	unsigned id;
	std::string payload;
	std::vector<unsigned> route;
	std::shared_ptr<const std::vector<std::string>> dict;
};

class Channel {
public:
	void put(std::unique_ptr<Msg> m)
	{
		std::lock_guard<std::mutex> g(lock_);
		q_.push_back(std::move(m));
		cv_.notify_one();
	}
	std::unique_ptr<Msg> get()
	{
		std::unique_lock<std::mutex> g(lock_);
		cv_.wait(g, [this] { return !q_.empty(); });
		auto m = std::move(q_.front());
		q_.pop_front();
		return m;
	}

private:
	std::mutex lock_;
	std::condition_variable cv_;
	std::deque<std::unique_ptr<Msg>> q_;
};

constexpr unsigned kRing = 4;
constexpr unsigned kMsgs = 2000;
constexpr unsigned kHops = 12;

// Ring member `self': takes a message, replaces it by a grown copy (the
// old one, allocated by the previous member, is freed here), passes it on;
// after kHops it goes to `done'.  A null message stops the member.
void ring_member(unsigned self, std::vector<Channel> &ring, Channel &done)
{
	for (;;) {
		auto m = ring[self].get();
		if (!m)
			return;
		auto n = std::make_unique<Msg>(*m);
		m.reset();
		n->route.push_back(self);
		n->payload += (*n->dict)[(n->id + self) % n->dict->size()];
		if (n->payload.size() > 200)
			n->payload.erase(0, 100);
		if (n->route.size() == kHops)
			done.put(std::move(n));
		else
			ring[(self + 1) % kRing].put(std::move(n));
	}
}

void test_threads()
{
	std::vector<Channel> ring(kRing);
	Channel done;
	std::vector<std::thread> members;
	for (unsigned i = 0; i < kRing; i++)
		members.emplace_back(ring_member, i, std::ref(ring),
				     std::ref(done));

	auto dict = std::make_shared<std::vector<std::string>>();
	for (unsigned i = 0; i < 500; i++)
		dict->push_back(word(i));
	std::weak_ptr<const std::vector<std::string>> dict_seen = dict;
	for (unsigned i = 0; i < kMsgs; i++) {
		auto m = std::make_unique<Msg>();
		m->id = i;
		m->payload = word(i);
		m->dict = dict;
		ring[i % kRing].put(std::move(m));
	}
	dict.reset();

	std::vector<std::unique_ptr<Msg>> results(kMsgs);
	for (unsigned i = 0; i < kMsgs; i++) {
		auto m = done.get();
		m->dict.reset();
		unsigned id = m->id;
		results[id] = std::move(m);
	}
	for (unsigned i = 0; i < kRing; i++)
		ring[i].put(nullptr);
	for (auto &t : members)
		t.join();

	bool ok = dict_seen.expired();
	for (unsigned i = 0; i < kMsgs; i++) {
		const auto &m = *results[i];
		ok = ok && m.route.size() == kHops;
		for (unsigned h = 0; h < m.route.size(); h++)
			ok = ok && m.route[h] == (i + h) % kRing;
		mix(m.payload);
	}
	check(ok, "4 threads pass 2000 messages 12 hops around a ring");

	// std::async: results and exceptions come back through futures
	// whose shared state one thread allocates and another frees.
	std::vector<std::future<std::vector<std::string>>> futs;
	for (unsigned t = 0; t < 6; t++)
		futs.push_back(std::async(std::launch::async, [t] {
			std::vector<std::string> v;
			for (unsigned i = 0; i < 3000; i++)
				v.push_back(word(t * 3000 + i));
			std::sort(v.begin(), v.end());
			if (t % 3 == 2)
				throw std::runtime_error("async task " +
							 std::to_string(t) +
							 " threw after " + v[0]);
			return v;
		}));
	unsigned values = 0, thrown = 0;
	for (auto &f : futs) {
		try {
			auto v = f.get();
			values++;
			mix(v.front());
			mix(v.back());
		} catch (const std::runtime_error &e) {
			thrown++;
			mix(std::string(e.what()));
		}
	}
	check(values == 4 && thrown == 2,
	      "std::async: 4 values and 2 exceptions through futures");
}

// ==========================================================================
// Exceptions (libstdc++ mallocs each exception object)
// ==========================================================================

struct BigError {
	unsigned code;
	char blob[2000];
	std::vector<int> extra;
};

unsigned thrower(unsigned i)
{
	switch (i % 4) {
	case 0:
		throw std::runtime_error(word(i));
	case 1:
		throw std::out_of_range(std::string(100 + i % 300, 'r'));
	case 2: {
		BigError e{};
		e.code = i;
		e.extra.assign(i % 50, 7);
		throw e;
	}
	default:
		throw i;
	}
}

unsigned catch_many(unsigned from, unsigned n)
{
	unsigned acc = 0;
	for (unsigned i = from; i < from + n; i++) {
		try {
			acc += thrower(i);
		} catch (const std::out_of_range &e) {
			acc += std::strlen(e.what());
		} catch (const std::runtime_error &e) {
			acc += std::strlen(e.what()) * 3;
		} catch (const BigError &e) {
			acc += e.code + e.extra.size();
		} catch (unsigned v) {
			acc += v * 5;
		}
	}
	return acc;
}

void test_exceptions()
{
	unsigned acc = catch_many(0, 40000);
	mix(acc);
	check(acc != 0, "40000 exceptions of four kinds thrown and caught");

	// Four threads throwing at once.
	std::vector<unsigned> accs(4);
	std::vector<std::thread> ts;
	for (unsigned t = 0; t < 4; t++)
		ts.emplace_back([t, &accs] {
			accs[t] = catch_many(t * 10000, 10000);
		});
	for (auto &t : ts)
		t.join();
	bool same = std::accumulate(accs.begin(), accs.end(), 0u) == acc;
	check(same, "4 threads throwing 10000 exceptions each agree");

	// exception_ptr: captured in one thread, rethrown and freed in main.
	std::vector<std::exception_ptr> eps(64);
	std::thread catcher([&eps] {
		for (unsigned i = 0; i < eps.size(); i++) {
			try {
				thrower(i);
			} catch (...) {
				eps[i] = std::current_exception();
			}
		}
	});
	catcher.join();
	unsigned rethrown = 0;
	for (auto &ep : eps) {
		try {
			std::rethrow_exception(ep);
		} catch (const std::exception &e) {
			rethrown++;
			mix(std::string(e.what()));
		} catch (const BigError &e) {
			rethrown++;
			mix(e.code);
		} catch (unsigned v) {
			rethrown++;
			mix(v);
		}
		ep = nullptr;
	}
	check(rethrown == 64, "64 exception_ptr rethrown in another thread");

	// Nested exceptions.
	unsigned nested = 0;
	for (unsigned i = 0; i < 2000; i++) {
		try {
			try {
				throw std::runtime_error(word(i));
			} catch (...) {
				std::throw_with_nested(
				    std::logic_error("outer " + word(i + 1)));
			}
		} catch (const std::logic_error &e) {
			try {
				std::rethrow_if_nested(e);
			} catch (const std::runtime_error &inner) {
				nested += std::strlen(inner.what()) +
				    std::strlen(e.what());
			}
		}
	}
	mix(nested);
	check(nested != 0, "2000 nested exceptions");
}

// ==========================================================================
// Every operator new and delete
// ==========================================================================

struct alignas(64) Line {
	unsigned char b[64];
	Line() { std::memset(b, 0x5a, sizeof b); }
	~Line() { b[0] = 0; }
};

struct alignas(4096) Page {
	unsigned char b[200];
	Page() { std::memset(b, 0xa5, sizeof b); }
	~Page() { b[0] = 0; }
};

struct Counted {
	static int live;
	std::string s;
	Counted() : s(40, 'c') { live++; }
	~Counted() { live--; }
};
int Counted::live;

void test_plain_forms()
{
	int *one = new int(42);
	int *arr = new int[1000];
	for (int i = 0; i < 1000; i++)
		arr[i] = i * *one;
	mix(std::accumulate(arr, arr + 1000, 0ULL));
	delete one;
	delete[] arr;

	// delete[] of a type with a destructor: the array cookie, and the
	// sized operator delete[] with -fsized-deallocation (C++14 default).
	Counted *cs = new Counted[333];
	Counted *c1 = new Counted;
	bool live = Counted::live == 334;
	delete[] cs;
	delete c1;
	check(live && Counted::live == 0, "new/delete, new[]/delete[]");

	int *nt = new (std::nothrow) int(7);
	char *nta = new (std::nothrow) char[5000];
	bool nt_ok = nt && nta && usable(nta, 5000, 3);
	delete nt;
	delete[] nta;
	check(nt_ok, "nothrow new and new[]");

	bool sized_ok = true;
	for (std::size_t n = 1; n <= (1u << 22); n = n * 3 + 1) {
		void *p = ::operator new(n);
		void *q = ::operator new[](n);
		sized_ok = sized_ok && usable(p, n, 1) && usable(q, n, 2);
		::operator delete(p, n);
		::operator delete[](q, n);
	}
	check(sized_ok, "sized operator delete and delete[], 1 B to 4 MiB");

	void *z = ::operator new(0);
	void *z2 = ::operator new[](0);
	check(z && z2 && z != z2, "operator new(0) gives distinct pointers");
	::operator delete(z);
	::operator delete[](z2);
}

void test_aligned_forms()
{
	bool ok = true;
	std::vector<Line *> lines;
	for (int i = 0; i < 1000; i++) {
		lines.push_back(new Line);
		ok = ok && aligned(lines.back(), 64);
	}
	Line *la = new Line[77];
	ok = ok && aligned(la, 64) && la[76].b[63] == 0x5a;
	for (auto *l : lines)
		delete l;
	delete[] la;
	std::vector<Line> lv(1000);
	ok = ok && aligned(lv.data(), 64);
	check(ok, "alignas(64): new, new[], vector");

	ok = true;
	std::vector<Page *> pages;
	for (int i = 0; i < 64; i++) {
		pages.push_back(new Page);
		ok = ok && aligned(pages.back(), 4096) &&
		    pages.back()->b[199] == 0xa5;
	}
	Page *pa = new Page[9];
	Page *pn = new (std::nothrow) Page;
	auto sp = std::make_shared<Page>();
	ok = ok && aligned(pa, 4096) && pn && aligned(pn, 4096) &&
	    aligned(sp.get(), 4096);
	for (auto *p : pages)
		delete p;
	delete[] pa;
	delete pn;
	check(ok, "alignas(4096): new, new[], nothrow new, make_shared");

	ok = true;
	for (std::size_t align = 1; align <= (1u << 16); align <<= 1)
		for (std::size_t n : {std::size_t(1), std::size_t(100),
				      std::size_t(1) << 16, std::size_t(3) << 16,
				      std::size_t(1) << 20}) {
			std::align_val_t al{align};
			void *p = ::operator new(n, al);
			void *q = ::operator new[](n, al);
			void *r = ::operator new(n, al, std::nothrow);
			ok = ok && aligned(p, align) && aligned(q, align) &&
			    r && aligned(r, align) && usable(p, n, 4) &&
			    usable(q, n, 5) && usable(r, n, 6);
			::operator delete(p, n, al);
			::operator delete[](q, n, al);
			::operator delete(r, al);
		}
	check(ok, "operator new(size, align_val_t) up to 1 << 16");

	// Large blocks, touched only at both ends.
	ok = true;
	for (std::size_t n : {std::size_t(64) << 20, std::size_t(1) << 30}) {
		for (std::size_t align : {std::size_t(16), std::size_t(1) << 16,
					  std::size_t(2) << 20}) {
			std::align_val_t al{align};
			auto *p = static_cast<unsigned char *>(
			    ::operator new(n, al));
			p[0] = 1;
			p[n - 1] = 2;
			ok = ok && aligned(p, align) && p[0] + p[n - 1] == 3;
			::operator delete(p, n, al);
		}
		auto *q = static_cast<unsigned char *>(::operator new[](n));
		q[0] = 3;
		q[n - 1] = 4;
		ok = ok && q[0] + q[n - 1] == 7;
		::operator delete[](q, n);
	}
	check(ok, "64 MiB and 1 GiB blocks, aligned to 16 B, 64 kB, 2 MiB");
}

int handler_calls;

void handler_once()
{
	handler_calls++;
	std::set_new_handler(nullptr);
}

void test_failing_forms()
{
	bool ok = true;
	for (std::size_t n : huge_sizes) {
		ok = ok && ::operator new(n, std::nothrow) == nullptr;
		ok = ok && ::operator new[](n, std::nothrow) == nullptr;
		ok = ok && new (std::nothrow) char[n] == nullptr;
	}
	for (std::size_t n : huge_aligned_sizes)
		ok = ok && ::operator new(n, std::align_val_t(64),
					  std::nothrow) == nullptr;
	check(ok, "nothrow new of a huge size is nullptr");

	unsigned caught = 0, tried = 0;
	for (std::size_t n : huge_sizes) {
		tried += 2;
		try {
			void *p = ::operator new(n);
			::operator delete(p);
		} catch (const std::bad_alloc &) {
			caught++;
		}
		try {
			char *p = new char[n];
			delete[] p;
		} catch (const std::bad_alloc &) {
			caught++;
		}
	}
	for (std::size_t n : huge_aligned_sizes) {
		tried++;
		try {
			void *p = ::operator new(n, std::align_val_t(4096));
			::operator delete(p, std::align_val_t(4096));
		} catch (const std::bad_alloc &) {
			caught++;
		}
	}
	check(caught == tried, "new of a huge size throws std::bad_alloc");

	// The handler runs once, uninstalls itself, and new then throws.
	std::set_new_handler(handler_once);
	bool threw = false;
	try {
		void *p = ::operator new(huge_sizes[2]);
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	check(threw && handler_calls == 1 && !std::get_new_handler(),
	      "new_handler called once, then bad_alloc");

	std::set_new_handler(handler_once);
	threw = false;
	try {
		void *p = ::operator new(huge_sizes[3], std::align_val_t(64));
		::operator delete(p, std::align_val_t(64));
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	check(threw && handler_calls == 2 && !std::get_new_handler(),
	      "new_handler called once by aligned new, then bad_alloc");

	// The heap still works after all that.
	std::vector<std::string> after(1000, std::string(100, 'a'));
	check(after[999].size() == 100, "allocation works after failures");
}

} // namespace

int main()
{
	test_containers();
	test_threads();
	test_exceptions();
	test_plain_forms();
	test_aligned_forms();
	test_failing_forms();
	std::printf("checksum %016llx\n",
		    static_cast<unsigned long long>(checksum));
	std::printf("%d failed\n", failures);
	return failures ? 1 : 0;
}
