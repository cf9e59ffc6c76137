#include "chat/parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/lexer.h"

namespace hearth::chat {

namespace {

// Nesting limit for expressions and blocks: deep enough for any real template, shallow enough
// that hostile input cannot exhaust the stack.
constexpr int kMaxDepth = 256;

using Names = std::initializer_list<std::string_view>;

bool contains(Names names, std::string_view s) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

std::string quoted_list(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) out += i + 1 == names.size() ? " or " : ", ";
        out += "'" + names[i] + "'";
    }
    return out;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    std::shared_ptr<const Program> parse() {
        auto program = std::make_shared<Program>();
        program->body = subparse({});
        if (cur().kind != Tok::Eof) fail(cur(), "unexpected " + describe(cur()));
        return program;
    }

private:
    struct OpenBlock {
        std::string tag;
        std::vector<std::string> end_tags;
        int line;
        int column;
    };

    class DepthGuard {
    public:
        DepthGuard(Parser& p, const Token& at) : p_(p) {
            if (++p_.depth_ > kMaxDepth) p_.fail(at, "template nested too deeply");
        }
        ~DepthGuard() { --p_.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;

    private:
        Parser& p_;
    };

    // Counts the links of a left-associative chain (a + b + c, a.b.c, a|f|g) as nesting, since
    // each link deepens the tree the interpreter walks recursively.
    class ChainGuard {
    public:
        explicit ChainGuard(Parser& p) : p_(p) {}
        ~ChainGuard() { p_.depth_ -= added_; }
        void link(const Token& at) {
            ++added_;
            if (++p_.depth_ > kMaxDepth) p_.fail(at, "template nested too deeply");
        }
        ChainGuard(const ChainGuard&) = delete;
        ChainGuard& operator=(const ChainGuard&) = delete;

    private:
        Parser& p_;
        int added_ = 0;
    };

    // -- token stream ------------------------------------------------------------------------

    const Token& cur() const { return tokens_[pos_]; }
    const Token& look() const { return tokens_[std::min(pos_ + 1, tokens_.size() - 1)]; }
    void next() {
        if (pos_ + 1 < tokens_.size()) ++pos_;
    }
    bool is_op(std::string_view op) const { return cur().kind == Tok::Op && cur().text == op; }
    bool is_name(std::string_view name) const { return cur().kind == Tok::Name && cur().text == name; }
    bool skip_op(std::string_view op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(std::string_view name) {
        if (!is_name(name)) return false;
        next();
        return true;
    }

    [[noreturn]] void fail(const Token& at, const std::string& message) const {
        throw TemplateError(TemplateError::Kind::Syntax, message, at.line, at.column);
    }

    // An unexpected token: at the end of the template, says which block is still open.
    [[noreturn]] void fail_expected(const std::string& expected) const {
        if (cur().kind == Tok::Eof) fail_eof();
        fail(cur(), "expected " + expected + ", got " + describe(cur()));
    }

    [[noreturn]] void fail_eof() const {
        if (!open_blocks_.empty()) {
            const OpenBlock& b = open_blocks_.back();
            fail(cur(), "unexpected end of template: the '" + b.tag + "' block opened at line " +
                            std::to_string(b.line) + ", column " + std::to_string(b.column) +
                            " is not closed (expected " + quoted_list(b.end_tags) + ")");
        }
        fail(cur(), "unexpected end of template");
    }

    const Token& expect(Tok kind, const std::string& what) {
        if (cur().kind != kind) fail_expected(what);
        const Token& t = cur();
        next();
        return t;
    }
    const Token& expect_op(std::string_view op) {
        if (!is_op(op)) fail_expected("'" + std::string(op) + "'");
        const Token& t = cur();
        next();
        return t;
    }
    const Token& expect_name() { return expect(Tok::Name, "a name"); }
    void expect_block_end() { expect(Tok::BlockEnd, "end of statement block"); }

    template <typename T>
    static void at(T& node, const Token& t) {
        node.line = t.line;
        node.column = t.column;
    }
    static ExprPtr make(Expr::Kind kind, const Token& t) {
        auto e = std::make_unique<Expr>(kind);
        at(*e, t);
        return e;
    }
    static StmtPtr make(Stmt::Kind kind, const Token& t) {
        auto s = std::make_unique<Stmt>(kind);
        at(*s, t);
        return s;
    }

    // -- statements --------------------------------------------------------------------------

    StmtList subparse(Names end_tags) {
        StmtList body;
        while (cur().kind != Tok::Eof) {
            const Token& t = cur();
            if (t.kind == Tok::Data) {
                auto s = make(Stmt::Kind::Text, t);
                s->text = t.text;
                body.push_back(std::move(s));
                next();
            } else if (t.kind == Tok::VarBegin) {
                auto s = make(Stmt::Kind::Print, t);
                next();
                s->expr = parse_tuple(false, true, {}, false);
                expect(Tok::VarEnd, "end of print statement");
                body.push_back(std::move(s));
            } else if (t.kind == Tok::BlockBegin) {
                next();
                if (cur().kind == Tok::Name && contains(end_tags, cur().text)) return body;
                body.push_back(parse_statement());
                expect_block_end();
            } else {
                fail(t, "unexpected " + describe(t));
            }
        }
        return body;
    }

    // After a statement's header: skips an optional ':', expects %}, parses the body up to one
    // of end_tags and (drop_needle) consumes that tag.
    StmtList parse_statements(Names end_tags, bool drop_needle) {
        skip_op(":");
        expect_block_end();
        StmtList body = subparse(end_tags);
        if (cur().kind == Tok::Eof) fail_eof();
        if (drop_needle) next();
        return body;
    }

    void open_block(const Token& t, std::vector<std::string> end_tags) {
        open_blocks_.push_back({t.text, std::move(end_tags), t.line, t.column});
    }
    void close_block() { open_blocks_.pop_back(); }

    StmtPtr parse_statement() {
        const Token& t = cur();
        if (t.kind != Tok::Name) fail_expected("a tag name");
        DepthGuard guard(*this, t);
        const std::string& tag = t.text;
        if (tag == "for") return parse_for();
        if (tag == "if") return parse_if();
        if (tag == "set") return parse_set();
        if (tag == "macro") return parse_macro();
        if (tag == "call") return parse_call_block();
        if (tag == "filter") return parse_filter_block();
        if (tag == "with") return parse_with();
        if (tag == "generation") return parse_generation();
        if (tag == "print") {
            auto s = make(Stmt::Kind::Print, t);
            next();
            s->expr = parse_tuple(false, true, {}, false);
            return s;
        }
        if (tag == "break" || tag == "continue") {
            auto s = make(tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, t);
            if (loop_depth_ == 0) fail(t, "'" + tag + "' outside loop");
            next();
            return s;
        }
        if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" || tag == "from" ||
            tag == "autoescape")
            fail(t, "the '" + tag + "' tag is not supported in chat templates");
        for (auto it = open_blocks_.rbegin(); it != open_blocks_.rend(); ++it) {
            if (std::find(it->end_tags.begin(), it->end_tags.end(), tag) != it->end_tags.end() ||
                tag.rfind("end", 0) == 0) {
                const OpenBlock& b = open_blocks_.back();
                fail(t, "unexpected '" + tag + "': the innermost open block is '" + b.tag + "' (line " +
                            std::to_string(b.line) + ", column " + std::to_string(b.column) + "), expecting " +
                            quoted_list(b.end_tags));
            }
        }
        fail(t, "unknown tag '" + tag + "'");
    }

    StmtPtr parse_for() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::For, t);
        open_block(t, {"endfor", "else"});
        next();
        s->target = parse_assign_target(true, false, {"in"}, false);
        if (!skip_name("in")) fail_expected("'in'");
        s->expr = parse_tuple(false, false, {"recursive"}, false);
        if (skip_name("if")) s->filter = parse_expression(true);
        s->recursive = skip_name("recursive");
        ++loop_depth_;
        s->body = parse_statements({"endfor", "else"}, false);
        --loop_depth_;
        const bool has_else = cur().text == "else";
        next();
        if (has_else) {
            open_blocks_.back().end_tags = {"endfor"};
            s->else_body = parse_statements({"endfor"}, true);
        }
        close_block();
        return s;
    }

    StmtPtr parse_if() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::If, t);
        open_block(t, {"elif", "else", "endif"});
        next();
        while (true) {
            ExprPtr test = parse_tuple(false, false, {}, false);
            StmtList body = parse_statements({"elif", "else", "endif"}, false);
            s->branches.emplace_back(std::move(test), std::move(body));
            const std::string tag = cur().text;
            next();
            if (tag == "elif") continue;
            if (tag == "else") {
                open_blocks_.back().end_tags = {"endif"};
                s->else_body = parse_statements({"endif"}, true);
            }
            break;
        }
        close_block();
        return s;
    }

    StmtPtr parse_set() {
        const Token& t = cur();
        next();
        ExprPtr target = parse_assign_target(true, false, {}, true);
        if (skip_op("=")) {
            auto s = make(Stmt::Kind::Set, t);
            s->target = std::move(target);
            s->expr = parse_tuple(false, true, {}, false);
            return s;
        }
        auto s = make(Stmt::Kind::SetBlock, t);
        s->target = std::move(target);
        s->filter = parse_filter(nullptr, false);
        open_block(t, {"endset"});
        s->body = parse_statements({"endset"}, true);
        close_block();
        return s;
    }

    StmtPtr parse_macro() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::Macro, t);
        next();
        s->name = expect_name().text;
        parse_signature(s->signature);
        open_block(t, {"endmacro"});
        s->body = parse_callable_body(s->signature, "endmacro");
        close_block();
        return s;
    }

    StmtPtr parse_call_block() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::CallBlock, t);
        next();
        if (is_op("(")) parse_signature(s->signature);
        s->expr = parse_expression(true);
        if (s->expr->kind != Expr::Kind::Call) fail(t, "expected call");
        open_block(t, {"endcall"});
        s->body = parse_callable_body(s->signature, "endcall");
        close_block();
        return s;
    }

    // The body of a macro or call block: a new function, so loop controls do not reach out of
    // it, and references to caller/varargs/kwargs are recorded.
    StmtList parse_callable_body(Signature& signature, std::string_view end_tag) {
        const int saved_loop_depth = loop_depth_;
        loop_depth_ = 0;
        macro_stack_.push_back(&signature);
        StmtList body = parse_statements({end_tag}, true);
        macro_stack_.pop_back();
        loop_depth_ = saved_loop_depth;
        return body;
    }

    void parse_signature(Signature& sig) {
        expect_op("(");
        while (!is_op(")")) {
            if (!sig.params.empty()) expect_op(",");
            const Token& name = expect_name();
            if (skip_op("=")) {
                sig.defaults.push_back(parse_expression(true));
            } else if (!sig.defaults.empty()) {
                fail(name, "non-default argument follows default argument");
            }
            sig.params.push_back(name.text);
        }
        expect_op(")");
    }

    StmtPtr parse_filter_block() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::FilterBlock, t);
        next();
        s->filter = parse_filter(nullptr, true);
        open_block(t, {"endfilter"});
        s->body = parse_statements({"endfilter"}, true);
        close_block();
        return s;
    }

    StmtPtr parse_with() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::With, t);
        next();
        while (cur().kind != Tok::BlockEnd) {
            if (!s->assignments.empty()) expect_op(",");
            ExprPtr target = parse_assign_target(true, false, {}, false);
            expect_op("=");
            s->assignments.emplace_back(std::move(target), parse_expression(true));
        }
        open_block(t, {"endwith"});
        s->body = parse_statements({"endwith"}, true);
        close_block();
        return s;
    }

    StmtPtr parse_generation() {
        const Token& t = cur();
        auto s = make(Stmt::Kind::Block, t);
        next();
        open_block(t, {"endgeneration"});
        s->body = parse_statements({"endgeneration"}, true);
        close_block();
        return s;
    }

    ExprPtr parse_assign_target(bool with_tuple, bool name_only, Names extra_end, bool with_namespace) {
        const Token& t = cur();
        if (with_namespace && t.kind == Tok::Name && look().kind == Tok::Op && look().text == ".") {
            auto e = make(Expr::Kind::NSRef, t);
            e->name = t.text;
            next();
            next();
            e->attr = expect_name().text;
            return e;
        }
        ExprPtr target;
        if (name_only) {
            target = make(Expr::Kind::Name, expect_name());
            target->name = t.text;
        } else if (with_tuple) {
            target = parse_tuple(true, true, extra_end, false);
        } else {
            target = parse_primary();
        }
        check_assignable(*target);
        return target;
    }

    void check_assignable(const Expr& e) const {
        if (e.kind == Expr::Kind::Name) return;
        if (e.kind == Expr::Kind::Tuple) {
            for (const auto& item : e.items) check_assignable(*item);
            return;
        }
        Token at_token;
        at_token.line = e.line;
        at_token.column = e.column;
        fail(at_token, "can't assign to this expression");
    }

    // -- expressions -------------------------------------------------------------------------

    ExprPtr parse_expression(bool with_condexpr) {
        DepthGuard guard(*this, cur());
        return with_condexpr ? parse_condexpr() : parse_or();
    }

    ExprPtr parse_condexpr() {
        ChainGuard chain(*this);
        ExprPtr expr1 = parse_or();
        while (is_name("if")) {
            const Token& t = cur();
            chain.link(t);
            next();
            ExprPtr test = parse_or();
            ExprPtr other;
            if (skip_name("else")) other = parse_condexpr();
            auto e = make(Expr::Kind::CondExpr, t);
            e->a = std::move(test);
            e->b = std::move(expr1);
            e->c = std::move(other);
            expr1 = std::move(e);
        }
        return expr1;
    }

    ExprPtr parse_or() {
        ChainGuard chain(*this);
        ExprPtr left = parse_and();
        while (is_name("or")) {
            chain.link(cur());
            auto e = make(Expr::Kind::Or, cur());
            next();
            e->a = std::move(left);
            e->b = parse_and();
            left = std::move(e);
        }
        return left;
    }

    ExprPtr parse_and() {
        ChainGuard chain(*this);
        ExprPtr left = parse_not();
        while (is_name("and")) {
            chain.link(cur());
            auto e = make(Expr::Kind::And, cur());
            next();
            e->a = std::move(left);
            e->b = parse_not();
            left = std::move(e);
        }
        return left;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            DepthGuard guard(*this, cur());
            auto e = make(Expr::Kind::Not, cur());
            next();
            e->a = parse_not();
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const Token& start = cur();
        ExprPtr expr = parse_math1();
        std::vector<std::pair<std::string, ExprPtr>> ops;
        while (true) {
            if (cur().kind == Tok::Op && contains({"==", "!=", "<", "<=", ">", ">="}, cur().text)) {
                std::string op = cur().text;
                next();
                ops.emplace_back(std::move(op), parse_math1());
            } else if (skip_name("in")) {
                ops.emplace_back("in", parse_math1());
            } else if (is_name("not") && look().kind == Tok::Name && look().text == "in") {
                next();
                next();
                ops.emplace_back("notin", parse_math1());
            } else {
                break;
            }
        }
        if (ops.empty()) return expr;
        auto e = make(Expr::Kind::Compare, start);
        e->a = std::move(expr);
        e->compare = std::move(ops);
        return e;
    }

    ExprPtr binary(const Token& t, std::string op, ExprPtr left, ExprPtr right) {
        auto e = make(Expr::Kind::Binary, t);
        e->op = std::move(op);
        e->a = std::move(left);
        e->b = std::move(right);
        return e;
    }

    ExprPtr parse_math1() {
        ChainGuard chain(*this);
        ExprPtr left = parse_concat();
        while (is_op("+") || is_op("-")) {
            const Token& t = cur();
            chain.link(t);
            next();
            left = binary(t, t.text, std::move(left), parse_concat());
        }
        return left;
    }

    ExprPtr parse_concat() {
        const Token& start = cur();
        ExprPtr first = parse_math2();
        if (!is_op("~")) return first;
        auto e = make(Expr::Kind::Concat, start);
        e->items.push_back(std::move(first));
        while (skip_op("~")) e->items.push_back(parse_math2());
        return e;
    }

    ExprPtr parse_math2() {
        ChainGuard chain(*this);
        ExprPtr left = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token& t = cur();
            chain.link(t);
            next();
            left = binary(t, t.text, std::move(left), parse_pow());
        }
        return left;
    }

    ExprPtr parse_pow() {
        ChainGuard chain(*this);
        ExprPtr left = parse_unary(true);
        while (is_op("**")) {
            const Token& t = cur();
            chain.link(t);
            next();
            left = binary(t, "**", std::move(left), parse_unary(true));
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        const Token& t = cur();
        DepthGuard guard(*this, t);
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            node = make(t.text == "-" ? Expr::Kind::Neg : Expr::Kind::Pos, t);
            next();
            node->a = parse_unary(false);
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        switch (t.kind) {
            case Tok::Name: {
                next();
                if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
                    auto e = make(Expr::Kind::Const, t);
                    e->value = Value(t.text == "true" || t.text == "True");
                    return e;
                }
                if (t.text == "none" || t.text == "None") {
                    auto e = make(Expr::Kind::Const, t);
                    e->value = Value::none();
                    return e;
                }
                auto e = make(Expr::Kind::Name, t);
                e->name = t.text;
                note_name(t.text);
                return e;
            }
            case Tok::String: {
                std::string s = t.text;
                next();
                while (cur().kind == Tok::String) {  // adjacent literals concatenate
                    s += cur().text;
                    next();
                }
                auto e = make(Expr::Kind::Const, t);
                e->value = Value(std::move(s));
                return e;
            }
            case Tok::Integer: {
                auto e = make(Expr::Kind::Const, t);
                e->value = Value(t.int_value);
                next();
                return e;
            }
            case Tok::Float: {
                auto e = make(Expr::Kind::Const, t);
                e->value = Value(t.float_value);
                next();
                return e;
            }
            case Tok::Op:
                if (t.text == "(") {
                    next();
                    ExprPtr e = parse_tuple(false, true, {}, true);
                    expect_op(")");
                    return e;
                }
                if (t.text == "[") return parse_list();
                if (t.text == "{") return parse_dict();
                break;
            case Tok::Eof: fail_eof();
            default: break;
        }
        fail(t, "unexpected " + describe(t));
    }

    void note_name(const std::string& name) {
        for (Signature* sig : macro_stack_) {
            if (name == "caller") sig->uses_caller = true;
            if (name == "varargs") sig->uses_varargs = true;
            if (name == "kwargs") sig->uses_kwargs = true;
        }
    }

    bool is_tuple_end(Names extra_end) const {
        if (cur().kind == Tok::VarEnd || cur().kind == Tok::BlockEnd || is_op(")")) return true;
        return cur().kind == Tok::Name && contains(extra_end, cur().text);
    }

    ExprPtr parse_tuple(bool simplified, bool with_condexpr, Names extra_end, bool explicit_parentheses) {
        const Token& start = cur();
        std::vector<ExprPtr> args;
        bool is_tuple = false;
        while (true) {
            if (!args.empty()) expect_op(",");
            if (is_tuple_end(extra_end)) break;
            args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
            if (is_op(",")) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (!is_tuple) {
            if (!args.empty()) return std::move(args[0]);
            if (!explicit_parentheses) {
                if (cur().kind == Tok::Eof) fail_eof();
                fail(cur(), "expected an expression, got " + describe(cur()));
            }
        }
        auto e = make(Expr::Kind::Tuple, start);
        e->items = std::move(args);
        return e;
    }

    ExprPtr parse_list() {
        auto e = make(Expr::Kind::List, cur());
        expect_op("[");
        while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression(true));
        }
        expect_op("]");
        return e;
    }

    ExprPtr parse_dict() {
        auto e = make(Expr::Kind::Dict, cur());
        expect_op("{");
        while (!is_op("}")) {
            if (!e->pairs.empty()) expect_op(",");
            if (is_op("}")) break;
            ExprPtr key = parse_expression(true);
            expect_op(":");
            e->pairs.emplace_back(std::move(key), parse_expression(true));
        }
        expect_op("}");
        return e;
    }

    ExprPtr parse_postfix(ExprPtr node) {
        ChainGuard chain(*this);
        while (true) {
            chain.link(cur());
            if (is_op(".") || is_op("[")) {
                node = parse_subscript(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        ChainGuard chain(*this);
        while (true) {
            chain.link(cur());
            if (is_op("|")) {
                node = parse_filter(std::move(node), false);
            } else if (is_name("is")) {
                node = parse_test(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr node) {
        const Token& t = cur();
        next();
        if (t.text == ".") {
            const Token& attr = cur();
            next();
            if (attr.kind == Tok::Name) {
                auto e = make(Expr::Kind::Getattr, t);
                e->a = std::move(node);
                e->name = attr.text;
                return e;
            }
            if (attr.kind != Tok::Integer) fail(attr, "expected name or number");
            auto index = make(Expr::Kind::Const, attr);
            index->value = Value(attr.int_value);
            auto e = make(Expr::Kind::Getitem, t);
            e->a = std::move(node);
            e->b = std::move(index);
            return e;
        }
        // '['
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
            if (!args.empty()) expect_op(",");
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        auto e = make(Expr::Kind::Getitem, t);
        e->a = std::move(node);
        if (args.size() == 1) {
            e->b = std::move(args[0]);
        } else {
            auto tuple = make(Expr::Kind::Tuple, t);
            tuple->items = std::move(args);
            e->b = std::move(tuple);
        }
        return e;
    }

    ExprPtr parse_subscribed() {
        const Token& start = cur();
        ExprPtr parts[3];
        if (is_op(":")) {
            next();
        } else {
            ExprPtr node = parse_expression(true);
            if (!is_op(":")) return node;
            next();
            parts[0] = std::move(node);
        }
        if (!is_op(":") && !is_op("]") && !is_op(",")) parts[1] = parse_expression(true);
        if (is_op(":")) {
            next();
            if (!is_op("]") && !is_op(",")) parts[2] = parse_expression(true);
        }
        auto e = make(Expr::Kind::Slice, start);
        e->a = std::move(parts[0]);
        e->b = std::move(parts[1]);
        e->c = std::move(parts[2]);
        return e;
    }

    struct CallArgsAst {
        std::vector<ExprPtr> args;
        std::vector<std::pair<std::string, ExprPtr>> kwargs;
        ExprPtr dyn_args;
        ExprPtr dyn_kwargs;
    };

    CallArgsAst parse_call_args() {
        const Token& open = expect_op("(");
        CallArgsAst out;
        auto ensure = [&](bool ok) {
            if (!ok) fail(open, "invalid syntax for function call expression");
        };
        bool require_comma = false;
        while (!is_op(")")) {
            if (require_comma) {
                expect_op(",");
                if (is_op(")")) break;  // trailing comma
            }
            if (is_op("*")) {
                ensure(!out.dyn_args && !out.dyn_kwargs);
                next();
                out.dyn_args = parse_expression(true);
            } else if (is_op("**")) {
                ensure(!out.dyn_kwargs);
                next();
                out.dyn_kwargs = parse_expression(true);
            } else if (cur().kind == Tok::Name && look().kind == Tok::Op && look().text == "=") {
                ensure(!out.dyn_kwargs);
                std::string key = cur().text;
                next();
                next();
                out.kwargs.emplace_back(std::move(key), parse_expression(true));
            } else {
                ensure(!out.dyn_args && !out.dyn_kwargs && out.kwargs.empty());
                out.args.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(")");
        return out;
    }

    ExprPtr parse_call(ExprPtr node) {
        const Token& t = cur();
        CallArgsAst args = parse_call_args();
        auto e = make(Expr::Kind::Call, t);
        e->a = std::move(node);
        e->items = std::move(args.args);
        e->kwargs = std::move(args.kwargs);
        e->b = std::move(args.dyn_args);
        e->c = std::move(args.dyn_kwargs);
        return e;
    }

    // Filter and test arguments: no *args / **kwargs.
    void parse_plain_args(Expr& e) {
        const Token& t = cur();
        CallArgsAst args = parse_call_args();
        if (args.dyn_args || args.dyn_kwargs) fail(t, "*args and **kwargs are not supported in filter and test calls");
        e.items = std::move(args.args);
        e.kwargs = std::move(args.kwargs);
    }

    ExprPtr parse_filter(ExprPtr node, bool start_inline) {
        ChainGuard chain(*this);
        while (is_op("|") || start_inline) {
            chain.link(cur());
            if (!start_inline) next();
            start_inline = false;
            const Token& t = expect_name();
            auto e = make(Expr::Kind::Filter, t);
            e->name = t.text;
            while (is_op(".")) {
                next();
                e->name += "." + expect_name().text;
            }
            if (is_op("(")) parse_plain_args(*e);
            e->a = std::move(node);
            node = std::move(e);
        }
        return node;
    }

    ExprPtr parse_test(ExprPtr node) {
        const Token& is_token = cur();
        next();  // 'is'
        const bool negated = skip_name("not");
        const Token& t = expect_name();
        auto e = make(Expr::Kind::Test, t);
        e->name = t.text;
        while (is_op(".")) {
            next();
            e->name += "." + expect_name().text;
        }
        const Token& c = cur();
        const bool arg_start = c.kind == Tok::Name || c.kind == Tok::String || c.kind == Tok::Integer ||
                               c.kind == Tok::Float || (c.kind == Tok::Op && (c.text == "(" || c.text == "[" || c.text == "{"));
        if (is_op("(")) {
            parse_plain_args(*e);
        } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
            if (is_name("is")) fail(c, "you cannot chain multiple tests with is");
            e->items.push_back(parse_postfix(parse_primary()));
        }
        e->a = std::move(node);
        if (!negated) return e;
        auto n = make(Expr::Kind::Not, is_token);
        n->a = std::move(e);
        return n;
    }

    std::vector<Token> tokens_;
    size_t pos_ = 0;
    int depth_ = 0;
    int loop_depth_ = 0;
    std::vector<OpenBlock> open_blocks_;
    std::vector<Signature*> macro_stack_;
};

// jinja2 reports unknown filters and tests when compiling, except inside an if block or an
// inline if (a "soft" frame), where the error waits until the filter actually runs.
class Validator {
public:
    void stmts(const StmtList& list, bool soft) {
        for (const auto& s : list) stmt(*s, soft);
    }

private:
    void stmt(const Stmt& s, bool soft) {
        switch (s.kind) {
            case Stmt::Kind::Text:
            case Stmt::Kind::Break:
            case Stmt::Kind::Continue: return;
            case Stmt::Kind::Print: expr(s.expr.get(), soft); return;
            case Stmt::Kind::If:
                for (const auto& [test, body] : s.branches) {
                    expr(test.get(), true);
                    stmts(body, true);
                }
                stmts(s.else_body, true);
                return;
            case Stmt::Kind::For:
                expr(s.expr.get(), soft);
                expr(s.filter.get(), false);
                stmts(s.body, false);
                stmts(s.else_body, false);
                return;
            case Stmt::Kind::Set: expr(s.expr.get(), soft); return;
            case Stmt::Kind::SetBlock:
                expr(s.filter.get(), soft);
                stmts(s.body, false);
                return;
            case Stmt::Kind::Macro:
                for (const auto& d : s.signature.defaults) expr(d.get(), false);
                stmts(s.body, false);
                return;
            case Stmt::Kind::CallBlock:
                expr(s.expr.get(), soft);
                for (const auto& d : s.signature.defaults) expr(d.get(), false);
                stmts(s.body, false);
                return;
            case Stmt::Kind::FilterBlock:
                expr(s.filter.get(), soft);
                stmts(s.body, false);
                return;
            case Stmt::Kind::With:
                for (const auto& [target, value] : s.assignments) expr(value.get(), soft);
                stmts(s.body, false);
                return;
            case Stmt::Kind::Block: stmts(s.body, soft); return;
        }
    }

    void expr(const Expr* e, bool soft) {
        if (!e) return;
        if (e->kind == Expr::Kind::CondExpr) soft = true;
        if (!soft && e->kind == Expr::Kind::Filter && !has_filter(e->name))
            throw TemplateError(TemplateError::Kind::Syntax, "no filter named '" + e->name + "'", e->line, e->column);
        if (!soft && e->kind == Expr::Kind::Test && !has_test(e->name))
            throw TemplateError(TemplateError::Kind::Syntax, "no test named '" + e->name + "'", e->line, e->column);
        expr(e->a.get(), soft);
        expr(e->b.get(), soft);
        expr(e->c.get(), soft);
        for (const auto& i : e->items) expr(i.get(), soft);
        for (const auto& [k, v] : e->pairs) {
            expr(k.get(), soft);
            expr(v.get(), soft);
        }
        for (const auto& [k, v] : e->kwargs) expr(v.get(), soft);
        for (const auto& [op, v] : e->compare) expr(v.get(), soft);
    }
};

}  // namespace

std::shared_ptr<const Program> parse_template(std::string_view source) {
    auto program = Parser(tokenize(source)).parse();
    Validator().stmts(program->body, false);
    return program;
}

}  // namespace hearth::chat
