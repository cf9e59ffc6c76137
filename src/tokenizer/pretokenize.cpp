#include "tokenizer/pretokenize.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/error.h"
#include "tokenizer/unicode.h"

namespace hearth {

namespace {

using unicode::CategoryMask;

constexpr uint8_t kSpaceBit = 0x80;
constexpr uint8_t kCategoryBits = 0x1F;

// A set of code points: ranges, categories, \s, and complements of categories / of \s.
struct CharClass {
    bool negated = false;
    CategoryMask categories = 0;
    std::vector<CategoryMask> not_categories;  // \P{X} items: in the class when not in X
    bool space = false;                        // \s
    bool not_space = false;                    // \S
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    uint64_t ascii[2] = {0, 0};  // the answer for U+0000..U+007F, set by finish()

    bool raw_contains(uint32_t cp, uint8_t props) const {
        const unsigned cat = props & kCategoryBits;
        if ((categories >> cat) & 1u) return true;
        const bool ws = (props & kSpaceBit) != 0;
        if ((space && ws) || (not_space && !ws)) return true;
        for (CategoryMask m : not_categories)
            if (!((m >> cat) & 1u)) return true;
        // Ranges are sorted and disjoint; most classes have a handful.
        auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                                   [](uint32_t c, const auto& r) { return c < r.first; });
        return it != ranges.begin() && cp <= std::prev(it)->second;
    }

    void finish() {
        std::sort(ranges.begin(), ranges.end());
        std::vector<std::pair<uint32_t, uint32_t>> merged;
        for (const auto& r : ranges) {
            if (!merged.empty() && r.first <= merged.back().second + 1)
                merged.back().second = std::max(merged.back().second, r.second);
            else
                merged.push_back(r);
        }
        ranges.swap(merged);
        for (uint32_t c = 0; c < 128; ++c) {
            const uint8_t props = static_cast<uint8_t>(unicode::category(c)) |
                                  (unicode::is_white_space(c) ? kSpaceBit : 0);
            if (raw_contains(c, props) != negated) ascii[c >> 6] |= uint64_t{1} << (c & 63);
        }
    }

    bool contains(uint32_t cp, uint8_t props) const {
        if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1u;
        return raw_contains(cp, props) != negated;
    }
};

enum class Op : uint8_t {
    Class,   // consume one code point in classes[x]
    Split,   // try x, then y
    Jump,    // go to x
    Match,   // the (sub-)program matched
    Start,   // at the start of the piece
    End,     // at the end of the piece
    Look,    // lookahead: sub-program at x; continue at y when it matches (or not, if negative)
    Atomic,  // atomic group: sub-program at x, first match only, then continue at y
};

struct Inst {
    Op op;
    bool negative = false;
    int32_t x = 0;
    int32_t y = 0;
};

struct Node {
    enum class Kind { Empty, Class, Concat, Alt, Repeat, Look, Atomic, Start, End };
    Kind kind = Kind::Empty;
    int cls = -1;
    std::vector<Node> kids;
    int min = 0;
    int max = 0;  // -1: unbounded
    bool greedy = true;
    bool negative = false;
};

bool can_be_empty(const Node& n) {
    switch (n.kind) {
        case Node::Kind::Class: return false;
        case Node::Kind::Concat: return std::all_of(n.kids.begin(), n.kids.end(), can_be_empty);
        case Node::Kind::Alt: return std::any_of(n.kids.begin(), n.kids.end(), can_be_empty);
        case Node::Kind::Repeat: return n.min == 0 || can_be_empty(n.kids[0]);
        case Node::Kind::Atomic: return can_be_empty(n.kids[0]);
        default: return true;
    }
}

constexpr int kMaxRepeat = 1000;
constexpr size_t kMaxProgram = 200000;

class Parser {
public:
    Parser(std::string_view source, std::vector<CharClass>& classes)
        : source_(source), p_(unicode::decode(source)), classes_(classes) {}

    Node parse() {
        Node n = parse_alt();
        if (i_ < p_.size()) error("unmatched ')'");
        return n;
    }

private:
    [[noreturn]] void error(std::string_view what) const {
        fail("pre-tokenizer pattern '{}': {} at character {}", source_, what, i_);
    }
    bool at_end() const { return i_ >= p_.size(); }
    uint32_t peek(size_t ahead = 0) const { return i_ + ahead < p_.size() ? p_[i_ + ahead] : 0; }
    bool accept(uint32_t c) {
        if (!at_end() && p_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }

    Node parse_alt() {
        Node first = parse_seq();
        if (at_end() || peek() != '|') return first;
        Node alt;
        alt.kind = Node::Kind::Alt;
        alt.kids.push_back(std::move(first));
        while (accept('|')) alt.kids.push_back(parse_seq());
        return alt;
    }

    Node parse_seq() {
        Node seq;
        seq.kind = Node::Kind::Concat;
        while (!at_end() && peek() != '|' && peek() != ')') {
            Node atom = parse_atom();
            seq.kids.push_back(parse_quantifiers(std::move(atom)));
        }
        if (seq.kids.size() == 1) return std::move(seq.kids[0]);
        return seq;
    }

    // Reads digits; -1 when there are none.
    int parse_number() {
        int v = -1;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            v = (v < 0 ? 0 : v * 10) + static_cast<int>(peek() - '0');
            if (v > kMaxRepeat) error("repetition count too large");
            ++i_;
        }
        return v;
    }

    Node parse_quantifiers(Node atom) {
        for (;;) {
            int min, max;
            const size_t start = i_;
            if (accept('*')) {
                min = 0;
                max = -1;
            } else if (accept('+')) {
                min = 1;
                max = -1;
            } else if (accept('?')) {
                min = 0;
                max = 1;
            } else if (peek() == '{' && peek(1) >= '0' && peek(1) <= '9') {
                ++i_;
                min = parse_number();
                max = min;
                if (accept(',')) max = parse_number();  // -1 when open-ended
                if (!accept('}')) error("malformed {m,n} quantifier");
                if (max >= 0 && max < min) error("{m,n} with n < m");
            } else {
                return atom;
            }
            if (atom.kind == Node::Kind::Start || atom.kind == Node::Kind::End ||
                atom.kind == Node::Kind::Look)
                error("quantifier after an assertion");
            if (max < 0 && can_be_empty(atom)) {
                i_ = start;
                error("unbounded repetition of something that can match the empty string");
            }
            Node rep;
            rep.kind = Node::Kind::Repeat;
            rep.min = min;
            rep.max = max;
            if (accept('?')) {
                rep.greedy = false;
            } else if (accept('+')) {  // possessive: atomic greedy repetition
                rep.kids.push_back(std::move(atom));
                Node atomic;
                atomic.kind = Node::Kind::Atomic;
                atomic.kids.push_back(std::move(rep));
                atom = std::move(atomic);
                continue;
            }
            rep.kids.push_back(std::move(atom));
            atom = std::move(rep);
        }
    }

    Node class_node(CharClass cc) {
        cc.finish();
        classes_.push_back(std::move(cc));
        Node n;
        n.kind = Node::Kind::Class;
        n.cls = static_cast<int>(classes_.size()) - 1;
        return n;
    }

    // Adds `c` and, in a case-insensitive group, its other cases.
    void add_char(CharClass& cc, uint32_t lo, uint32_t hi) const {
        cc.ranges.emplace_back(lo, hi);
        if (!icase_) return;
        for (uint32_t c = std::max<uint32_t>(lo, 'A'); c <= std::min<uint32_t>(hi, 'z'); ++c) {
            if (c >= 'A' && c <= 'Z') cc.ranges.emplace_back(c + 32, c + 32);
            if (c >= 'a' && c <= 'z') cc.ranges.emplace_back(c - 32, c - 32);
            if (c == 'S' || c == 's') cc.ranges.emplace_back(0x17F, 0x17F);    // ſ
            if (c == 'K' || c == 'k') cc.ranges.emplace_back(0x212A, 0x212A);  // Kelvin sign
        }
        if (lo <= 0x17F && hi >= 0x17F)
            cc.ranges.emplace_back('S', 'S'), cc.ranges.emplace_back('s', 's');
        if (lo <= 0x212A && hi >= 0x212A)
            cc.ranges.emplace_back('K', 'K'), cc.ranges.emplace_back('k', 'k');
    }

    uint32_t parse_hex(size_t min_digits, size_t max_digits) {
        uint32_t v = 0;
        size_t n = 0;
        while (n < max_digits && !at_end()) {
            const uint32_t c = peek();
            int d;
            if (c >= '0' && c <= '9')
                d = static_cast<int>(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = static_cast<int>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = static_cast<int>(c - 'A' + 10);
            else
                break;
            v = v * 16 + static_cast<uint32_t>(d);
            ++i_;
            ++n;
        }
        if (n < min_digits) error("malformed hex escape");
        if (v > 0x10FFFF) error("code point out of range");
        return v;
    }

    // After a backslash. Either fills `cc` with a class escape (\s, \p{L} …) and returns true,
    // or stores a single code point in `literal` and returns false.
    bool parse_escape(CharClass& cc, uint32_t& literal) {
        if (at_end()) error("pattern ends with a backslash");
        const uint32_t c = p_[i_++];
        switch (c) {
            case 's': cc.space = true; return true;
            case 'S': cc.not_space = true; return true;
            case 'd': cc.categories |= unicode::mask_of(unicode::Category::Nd); return true;
            case 'D':
                cc.not_categories.push_back(unicode::mask_of(unicode::Category::Nd));
                return true;
            case 'w':
            case 'W': {
                const CategoryMask word = unicode::kLetter | unicode::kMark |
                                          unicode::mask_of(unicode::Category::Nd) |
                                          unicode::mask_of(unicode::Category::Pc);
                if (c == 'w')
                    cc.categories |= word;
                else
                    cc.not_categories.push_back(word);
                return true;
            }
            case 'p':
            case 'P': {
                std::string name;
                if (accept('{')) {
                    while (!at_end() && peek() != '}') {
                        if (peek() > 0x7F) error("bad \\p{} name");
                        name += static_cast<char>(p_[i_++]);
                    }
                    if (!accept('}')) error("unterminated \\p{");
                } else if (!at_end() && peek() < 0x80) {
                    name = static_cast<char>(p_[i_++]);
                }
                bool neg = c == 'P';
                if (!name.empty() && name[0] == '^') {
                    neg = !neg;
                    name.erase(0, 1);
                }
                const CategoryMask m = unicode::category_mask(name);
                if (m == 0)
                    error("unsupported property \\p{" + name + "} (general categories only)");
                if (neg)
                    cc.not_categories.push_back(m);
                else
                    cc.categories |= m;
                return true;
            }
            case 'r': literal = '\r'; return false;
            case 'n': literal = '\n'; return false;
            case 't': literal = '\t'; return false;
            case 'f': literal = '\f'; return false;
            case 'v': literal = '\v'; return false;
            case 'a': literal = 0x07; return false;
            case 'e': literal = 0x1B; return false;
            case '0': literal = 0; return false;
            case 'x':
                if (accept('{')) {
                    literal = parse_hex(1, 6);
                    if (!accept('}')) error("malformed \\x{...}");
                } else {
                    literal = parse_hex(2, 2);
                }
                return false;
            case 'u': literal = parse_hex(4, 4); return false;
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
                    --i_;
                    error("unsupported escape");
                }
                literal = c;  // an escaped punctuation character stands for itself
                return false;
        }
    }

    Node parse_class() {
        CharClass cc;
        cc.negated = accept('^');
        bool first = true;
        for (;;) {
            if (at_end()) error("unterminated [");
            uint32_t c = p_[i_];
            if (c == ']' && !first) {
                ++i_;
                break;
            }
            first = false;
            ++i_;
            uint32_t lo = 0;
            if (c == '\\') {
                if (parse_escape(cc, lo)) continue;  // a class escape such as \s
            } else if (c == '[' && peek() == ':') {
                error("POSIX classes are not supported");
            } else {
                lo = c;
            }
            // A range lo-hi (a '-' before ']' is a literal).
            if (peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
                ++i_;
                uint32_t hi = p_[i_++];
                if (hi == '\\') {
                    CharClass dummy;
                    if (parse_escape(dummy, hi)) error("class escape as the end of a range");
                }
                if (hi < lo) error("range out of order");
                add_char(cc, lo, hi);
            } else {
                add_char(cc, lo, lo);
            }
        }
        return class_node(std::move(cc));
    }

    Node parse_atom() {
        const uint32_t c = p_[i_++];
        switch (c) {
            case '(': {
                Node group;
                bool restore_icase = false;
                const bool saved_icase = icase_;
                if (accept('?')) {
                    if (accept(':')) {
                        group.kind = Node::Kind::Concat;
                    } else if (accept('=') || (peek() == '!' && accept('!'))) {
                        group.kind = Node::Kind::Look;
                        group.negative = p_[i_ - 1] == '!';
                    } else if (accept('>')) {
                        group.kind = Node::Kind::Atomic;
                    } else if (peek() == 'i' && peek(1) == ':') {
                        i_ += 2;
                        group.kind = Node::Kind::Concat;
                        icase_ = true;
                        restore_icase = true;
                    } else {
                        error("unsupported group (only (?:, (?=, (?!, (?>, (?i: are known)");
                    }
                } else {
                    group.kind = Node::Kind::Concat;  // capturing groups only group here
                }
                Node body = parse_alt();
                if (!accept(')')) error("missing ')'");
                if (restore_icase) icase_ = saved_icase;
                if (group.kind == Node::Kind::Concat) return body;
                group.kids.push_back(std::move(body));
                return group;
            }
            case '[': return parse_class();
            case '.': {
                CharClass cc;
                cc.negated = true;
                cc.ranges.emplace_back('\n', '\n');
                return class_node(std::move(cc));
            }
            case '^': {
                Node n;
                n.kind = Node::Kind::Start;
                return n;
            }
            case '$': {
                Node n;
                n.kind = Node::Kind::End;
                return n;
            }
            case '*':
            case '+':
            case '?': --i_; error("quantifier without anything to repeat");
            case '\\': {
                CharClass cc;
                uint32_t lit;
                if (!parse_escape(cc, lit)) add_char(cc, lit, lit);
                return class_node(std::move(cc));
            }
            default: {
                CharClass cc;
                add_char(cc, c, c);
                return class_node(std::move(cc));
            }
        }
    }

    std::string_view source_;
    std::vector<uint32_t> p_;
    size_t i_ = 0;
    bool icase_ = false;
    std::vector<CharClass>& classes_;
};

}  // namespace

struct PreTokenizerRegex::Program {
    std::vector<CharClass> classes;
    std::vector<Inst> insts;

    int32_t pc() const { return static_cast<int32_t>(insts.size()); }
    int32_t emit(Inst in) {
        if (insts.size() >= kMaxProgram) fail("pre-tokenizer pattern too large");
        insts.push_back(in);
        return pc() - 1;
    }

    void compile(const Node& n) {
        switch (n.kind) {
            case Node::Kind::Empty: break;
            case Node::Kind::Class: emit({Op::Class, false, n.cls, 0}); break;
            case Node::Kind::Concat:
                for (const Node& k : n.kids) compile(k);
                break;
            case Node::Kind::Alt: {
                std::vector<int32_t> jumps;
                for (size_t i = 0; i < n.kids.size(); ++i) {
                    if (i + 1 < n.kids.size()) {
                        const int32_t split = emit({Op::Split, false, 0, 0});
                        insts[split].x = pc();
                        compile(n.kids[i]);
                        jumps.push_back(emit({Op::Jump, false, 0, 0}));
                        insts[split].y = pc();
                    } else {
                        compile(n.kids[i]);
                    }
                }
                for (int32_t j : jumps) insts[j].x = pc();
                break;
            }
            case Node::Kind::Repeat: {
                const Node& body = n.kids[0];
                for (int i = 0; i < n.min; ++i) compile(body);
                auto split = [&](int32_t at, int32_t into, int32_t out) {
                    insts[at].x = n.greedy ? into : out;
                    insts[at].y = n.greedy ? out : into;
                };
                if (n.max < 0) {
                    const int32_t loop = emit({Op::Split, false, 0, 0});
                    compile(body);
                    emit({Op::Jump, false, loop, 0});
                    split(loop, loop + 1, pc());
                } else {
                    std::vector<int32_t> splits;
                    for (int i = n.min; i < n.max; ++i) {
                        splits.push_back(emit({Op::Split, false, 0, 0}));
                        compile(body);
                    }
                    for (int32_t s : splits) split(s, s + 1, pc());
                }
                break;
            }
            case Node::Kind::Look:
            case Node::Kind::Atomic: {
                const int32_t at =
                    emit({n.kind == Node::Kind::Look ? Op::Look : Op::Atomic, n.negative, 0, 0});
                insts[at].x = pc();
                compile(n.kids[0]);
                emit({Op::Match, false, 0, 0});
                insts[at].y = pc();
                break;
            }
            case Node::Kind::Start: emit({Op::Start, false, 0, 0}); break;
            case Node::Kind::End: emit({Op::End, false, 0, 0}); break;
        }
    }

    struct Thread {
        int32_t pc;
        uint32_t pos;
    };

    // The (instruction, position) states of a piece already explored without reaching a match.
    // Whether a state leads to a match depends only on the state (no captures, no
    // backreferences), and the first visit is the one with the highest priority, so a state
    // seen before can be abandoned: this bounds the work per piece by instructions × length
    // (RE2's "bit state" idea) instead of letting `\s+$` go quadratic on long runs.
    struct Memo {
        std::vector<uint64_t> bits;
        std::vector<uint64_t> touched;  // set bits, to clear them after a match
        uint64_t stride = 0;            // positions per instruction (piece length + 1)
        uint32_t begin = 0;

        bool test_and_set(int32_t pc, uint32_t pos) {
            const uint64_t i = static_cast<uint64_t>(pc) * stride + (pos - begin);
            uint64_t& word = bits[i >> 6];
            const uint64_t bit = uint64_t{1} << (i & 63);
            if (word & bit) return true;
            word |= bit;
            touched.push_back(i);
            return false;
        }
        void clear_touched() {
            for (uint64_t i : touched) bits[i >> 6] &= ~(uint64_t{1} << (i & 63));
            touched.clear();
        }
    };

    // Backtracking search from `pc` at `pos`: the end of the first match in priority order,
    // or -1. `stack` is scratch shared with nested calls (lookaheads). `memo` (top level only:
    // a lookahead that succeeds must not leave its states marked) prunes explored states.
    int64_t run(int32_t start_pc, uint32_t start_pos, const Text& text, Span piece,
                std::vector<Thread>& stack, Memo* memo) const {
        const size_t base = stack.size();
        stack.push_back({start_pc, start_pos});
        while (stack.size() > base) {
            int32_t pc = stack.back().pc;
            uint32_t pos = stack.back().pos;
            stack.pop_back();
            for (;;) {
                if (memo && memo->test_and_set(pc, pos)) break;
                const Inst& in = insts[static_cast<size_t>(pc)];
                bool ok = true;
                switch (in.op) {
                    case Op::Class:
                        if (pos < piece.end && classes[static_cast<size_t>(in.x)].contains(
                                                   text.cps[pos], text.props[pos])) {
                            ++pos;
                            ++pc;
                        } else {
                            ok = false;
                        }
                        break;
                    case Op::Split:
                        stack.push_back({in.y, pos});
                        pc = in.x;
                        break;
                    case Op::Jump: pc = in.x; break;
                    case Op::Match:
                        stack.resize(base);
                        if (memo) memo->clear_touched();
                        return pos;
                    case Op::Start:
                        ok = pos == piece.begin;
                        ++pc;
                        break;
                    case Op::End:
                        ok = pos == piece.end;
                        ++pc;
                        break;
                    case Op::Look: {
                        const bool found = run(in.x, pos, text, piece, stack, nullptr) >= 0;
                        ok = found != in.negative;
                        pc = in.y;
                        break;
                    }
                    case Op::Atomic: {
                        const int64_t end = run(in.x, pos, text, piece, stack, nullptr);
                        ok = end >= 0;
                        if (ok) pos = static_cast<uint32_t>(end);
                        pc = in.y;
                        break;
                    }
                }
                if (!ok) break;
            }
        }
        return -1;
    }
};

void PreTokenizerRegex::Text::assign(std::vector<uint32_t> code_points) {
    cps = std::move(code_points);
    props.resize(cps.size());
    for (size_t i = 0; i < cps.size(); ++i) {
        const uint32_t cp = cps[i];
        props[i] = static_cast<uint8_t>(unicode::category(cp)) |
                   (unicode::is_white_space(cp) ? kSpaceBit : 0);
    }
}

PreTokenizerRegex::PreTokenizerRegex(std::string_view pattern)
    : pattern_(pattern), program_(std::make_unique<Program>()) {
    Parser parser(pattern, program_->classes);
    const Node root = parser.parse();
    program_->compile(root);
    program_->emit({Op::Match, false, 0, 0});
}

PreTokenizerRegex::~PreTokenizerRegex() = default;
PreTokenizerRegex::PreTokenizerRegex(PreTokenizerRegex&&) noexcept = default;
PreTokenizerRegex& PreTokenizerRegex::operator=(PreTokenizerRegex&&) noexcept = default;

int64_t PreTokenizerRegex::match_at(const Text& text, Span piece, uint32_t pos) const {
    thread_local std::vector<Program::Thread> stack;
    stack.clear();
    const int64_t end = program_->run(0, pos, text, piece, stack, nullptr);
    return end > static_cast<int64_t>(pos) ? end : -1;
}

void PreTokenizerRegex::split(const Text& text, Span piece, std::vector<Span>& out) const {
    thread_local std::vector<Program::Thread> stack;
    thread_local Program::Memo memo;
    // Short pieces (most words) are cheap without the memo; long ones get it unless it would
    // take more than 8 MiB, where plain backtracking is the fallback.
    constexpr uint64_t kMinMemoLength = 64, kMaxMemoBits = uint64_t{64} << 20;
    const uint64_t length = piece.end - piece.begin;
    const uint64_t n_bits = program_->insts.size() * (length + 1);
    Program::Memo* m = nullptr;
    if (length >= kMinMemoLength && n_bits <= kMaxMemoBits) {
        memo.bits.assign((n_bits + 63) / 64, 0);
        memo.touched.clear();
        memo.stride = length + 1;
        memo.begin = piece.begin;
        m = &memo;
    }
    auto match = [&](uint32_t at) {
        stack.clear();
        const int64_t end = program_->run(0, at, text, piece, stack, m);
        return end > static_cast<int64_t>(at) ? end : -1;
    };
    uint32_t pos = piece.begin, gap = piece.begin;
    while (pos < piece.end) {
        const int64_t end = match(pos);
        if (end < 0) {
            ++pos;
            continue;
        }
        if (gap < pos) out.push_back({gap, pos});
        out.push_back({pos, static_cast<uint32_t>(end)});
        pos = gap = static_cast<uint32_t>(end);
    }
    if (gap < piece.end) out.push_back({gap, piece.end});
}

PreTokenizer::PreTokenizer(const std::vector<std::string_view>& patterns) {
    regexes_.reserve(patterns.size());
    for (std::string_view p : patterns) regexes_.emplace_back(p);
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
    std::vector<std::string_view> words;
    if (text.empty()) return words;
    if (text.size() > 0xFFFFFFF0u)
        fail("text of {} bytes is too long to pre-tokenize", text.size());
    std::vector<uint32_t> offsets;
    PreTokenizerRegex::Text t;
    t.assign(unicode::decode(text, &offsets));
    std::vector<PreTokenizerRegex::Span> pieces{{0, static_cast<uint32_t>(t.cps.size())}}, next;
    for (const PreTokenizerRegex& re : regexes_) {
        next.clear();
        next.reserve(pieces.size() * 2);
        for (const auto& piece : pieces) re.split(t, piece, next);
        pieces.swap(next);
    }
    words.reserve(pieces.size());
    for (const auto& p : pieces)
        words.push_back(text.substr(offsets[p.begin], offsets[p.end] - offsets[p.begin]));
    return words;
}

// ---------------------------------------------------------------------------------------------
// The pre-tokenizers of known model families, by the `tokenizer.ggml.pre` names llama.cpp's
// converter writes. Patterns are those of the models' tokenizer.json (Split regexes, and Digits /
// Punctuation pre-tokenizers written as patterns), in the order llama.cpp lists them. Where
// llama.cpp rewrote a pattern for std::regex (Tekken, GPT-4o, the (?i:) contractions), the
// original is used: this matcher handles it and it is what the model's own tokenizer runs.
// Not here (they fall back to "default" with a warning): superbpe (zero-width splits), kimi-k2
// (\p{Han}), afmoe (custom digit grouping).

namespace {

// GPT-2's ByteLevel regex (use_regex=true).
constexpr std::string_view kGpt2 =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
// Llama 3 (tiktoken cl100k style): digits in groups of up to three.
constexpr std::string_view kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: as Llama 3 but single digits.
constexpr std::string_view kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Mistral Tekken.
constexpr std::string_view kTekken =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// GPT-4o / o200k (Llama 4 too).
constexpr std::string_view kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
constexpr std::string_view kPoro =
    R"re( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)re";

std::vector<std::pair<std::vector<std::string_view>, PreTokenizerSpec>> make_specs() {
    std::vector<std::pair<std::vector<std::string_view>, PreTokenizerSpec>> s;
    s.push_back(
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
         {"llama3", {kLlama3}, /*ignore_merges=*/true, false, /*add_bos=*/true}});
    s.push_back({{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {"llama3-like", {kLlama3}}});
    s.push_back({{"qwen2", "deepseek-r1-qwen"}, {"qwen2", {kQwen2}, false, /*nfc=*/true}});
    s.push_back({{"kormo", "stablelm2", "hunyuan", "megrez", "grok-2"}, {"qwen2-like", {kQwen2}}});
    s.push_back({{"gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling", "jina-es",
                  "jina-de", "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-code",
                  "roberta-bpe", "gigachat", "a.x-4.0", "mellum", "exaone4"},
                 {"gpt-2", {kGpt2}}});
    s.push_back(
        {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
         {"starcoder", {R"re(\p{N})re", kGpt2}}});
    s.push_back(
        {{"falcon"}, {"falcon", {R"re([\p{P}\$\+<=>\^~\|`]+)re", kGpt2, "[0-9][0-9][0-9]"}}});
    // DeepSeek LLM: its letters class is the list of cased letters (Lu, Ll, Lt) of some
    // scripts, written out as code points.
    s.push_back(
        {{"deepseek-llm"},
         {"deepseek-llm",
          {"[\r\n]",
           "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-"
           "\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}"
           "\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}"
           "\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}"
           "\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-"
           "\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}"
           "\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-"
           "\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
           "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
           "\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"
           "\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-"
           "\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}"
           "\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-"
           "\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-"
           "\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-"
           "\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"
           "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-"
           "\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
           "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-"
           "\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-"
           "\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
           "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}"
           "\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
           R"re(\s+$)re", kCjk, R"re(\p{N}+)re"}}});
    s.push_back({{"deepseek-coder"},
                 {"deepseek-coder",
                  {"[\r\n]", R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kCjk, R"re(\p{N})re"}}});
    s.push_back(
        {{"deepseek-v3", "hunyuan-dense"},
         {"deepseek-v3",
          {R"re(\p{N}{1,3})re", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
           R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re"}}});
    s.push_back({{"poro-chat", "bloom", "gpt3-finnish"}, {"bloom", {kPoro}}});
    s.push_back({{"viking"}, {"viking", {kPoro, R"re(\p{N})re"}}});
    s.push_back(
        {{"tekken"}, {"tekken", {kTekken}, /*ignore_merges=*/true, false, /*add_bos=*/true}});
    s.push_back({{"gpt-4o", "llama4", "minimax-m2"}, {"gpt-4o", {kGpt4o}}});
    s.push_back({{"chameleon"},
                 {"chameleon",
                  {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                   R"re(([\t\n]|    |  ))re", R"re(\p{N})re", R"re([\p{P}!-/:-@\[-`{-~])re", kGpt2},
                  false,
                  false,
                  /*add_bos=*/true}});
    s.push_back(
        {{"bailingmoe", "bailingmoe2", "llada-moe"},
         {"bailingmoe",
          {R"re('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)re"}}});
    s.push_back(
        {{"seed-coder"},
         {"seed-coder",
          {R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)re"}}});
    // llama.cpp's fallback for a missing or unknown name.
    s.push_back(
        {{"default"},
         {"default", {R"re([\p{P}\$\+<=>\^~\|]+)re", kGpt2, R"re(\p{N}+)re", "[0-9][0-9][0-9]"}}});
    return s;
}

const std::map<std::string_view, PreTokenizerSpec>& spec_table() {
    static const std::map<std::string_view, PreTokenizerSpec> table = [] {
        std::map<std::string_view, PreTokenizerSpec> t;
        static const auto specs = make_specs();
        for (const auto& [names, spec] : specs)
            for (std::string_view name : names) t.emplace(name, spec);
        return t;
    }();
    return table;
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre) {
    const auto& t = spec_table();
    auto it = t.find(pre);
    return it == t.end() ? nullptr : &it->second;
}

std::vector<std::string_view> known_pre_tokenizers() {
    std::vector<std::string_view> names;
    for (const auto& [name, spec] : spec_table()) names.push_back(name);
    return names;
}

}  // namespace hearth
