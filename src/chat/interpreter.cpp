#include "chat/interpreter.h"

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/operators.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

// Macro recursion limit (Python's recursion limit stops jinja2 at a similar depth).
constexpr int kMaxCallDepth = 200;

class DepthGuard {
public:
    explicit DepthGuard(int& depth) : depth_(depth) {
        if (++depth_ > kMaxCallDepth) {
            --depth_;
            runtime_error("maximum recursion depth exceeded");
        }
    }
    ~DepthGuard() { --depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

private:
    int& depth_;
};

Value undefined_attribute(const Value& obj, const std::string& name) {
    return Value::undefined(quote(object_type_repr(obj)) + " has no attribute '" + name + "'");
}

Value undefined_item(const Value& obj, const Value& key) {
    if (key.is_string()) return undefined_attribute(obj, key.as_string());
    return Value::undefined(object_type_repr(obj) + " has no element " + repr(key));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Scope

const Value* Scope::lookup(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent.get())
        for (const auto& [k, v] : s->vars)
            if (k == name) return &v;
    return nullptr;
}

void Scope::set(std::string_view name, Value value) {
    for (auto& [k, v] : vars) {
        if (k == name) {
            v = std::move(value);
            return;
        }
    }
    vars.emplace_back(std::string(name), std::move(value));
}

// ---------------------------------------------------------------------------------------------
// Rendering

Interpreter::Interpreter(std::shared_ptr<const Program> program, ScopePtr globals)
    : program_(std::move(program)), globals_(std::move(globals)) {}

Interpreter::~Interpreter() {
    for (const Value& ns : namespaces_) ns.as_dict().items.clear();
}

std::string Interpreter::render() {
    auto root = std::make_shared<Scope>(globals_);
    std::string out;
    exec(program_->body, root, out);
    return out;
}

Interpreter::Flow Interpreter::exec(const StmtList& body, const ScopePtr& scope, std::string& out) {
    for (const auto& s : body) {
        const Flow f = exec_stmt(*s, scope, out);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
    switch (s.kind) {
        case Stmt::Kind::Text: out += s.text; return Flow::Normal;
        case Stmt::Kind::Print: {
            const Value v = eval(*s.expr, scope);
            if (v.is_string()) {
                out += v.as_string();
            } else {
                out += to_str(v);
            }
            return Flow::Normal;
        }
        case Stmt::Kind::If:
            for (const auto& [test, body] : s.branches)
                if (truthy(eval(*test, scope))) return exec(body, scope, out);
            return exec(s.else_body, scope, out);
        case Stmt::Kind::For: return exec_for(s, eval(*s.expr, scope), scope, out, 1);
        case Stmt::Kind::Set: assign(*s.target, eval(*s.expr, scope), scope); return Flow::Normal;
        case Stmt::Kind::SetBlock: {
            // A break/continue inside the block leaves it before the assignment (jinja2 does the
            // same: the loop is left while the block's output is still buffered).
            auto inner = std::make_shared<Scope>(scope);
            std::string body;
            if (const Flow f = exec(s.body, inner, body); f != Flow::Normal) return f;
            Value v(std::move(body));
            if (s.filter) v = apply_filter_chain(*s.filter, std::move(v), scope);
            assign(*s.target, v, scope);
            return Flow::Normal;
        }
        case Stmt::Kind::Macro:
            scope->set(s.name, make_macro(s.name, s.signature, s.body, scope));
            return Flow::Normal;
        case Stmt::Kind::CallBlock: {
            const Expr& call = *s.expr;
            Value callee = eval(*call.a, scope);
            CallArgs args = eval_args(call, scope);
            args.keyword.emplace_back("caller", make_macro("caller", s.signature, s.body, scope));
            try {
                const Value v = this->call(callee, args);
                out += to_str(v);
            } catch (const TemplateError& e) {
                if (e.kind() == TemplateError::Kind::Runtime && e.line() == 0) throw e.located(call.line, call.column);
                throw;
            }
            return Flow::Normal;
        }
        case Stmt::Kind::FilterBlock: {
            auto inner = std::make_shared<Scope>(scope);
            std::string body;
            if (const Flow f = exec(s.body, inner, body); f != Flow::Normal) return f;  // output dropped
            out += to_str(apply_filter_chain(*s.filter, Value(std::move(body)), scope));
            return Flow::Normal;
        }
        case Stmt::Kind::With: {
            std::vector<Value> values;
            for (const auto& [target, value] : s.assignments) values.push_back(eval(*value, scope));
            auto inner = std::make_shared<Scope>(scope);
            for (size_t i = 0; i < values.size(); ++i) assign(*s.assignments[i].first, values[i], inner);
            return exec(s.body, inner, out);
        }
        case Stmt::Kind::Break: return Flow::Break;
        case Stmt::Kind::Continue: return Flow::Continue;
        case Stmt::Kind::Block: return exec(s.body, scope, out);
    }
    return Flow::Normal;
}

// The else block runs after the loop, so a break or continue in it belongs to the enclosing loop:
// its Flow is returned.
Interpreter::Flow Interpreter::exec_for(const Stmt& s, const Value& iterable, const ScopePtr& scope, std::string& out,
                                        int depth) {
    std::vector<Value> items;
    try {
        items = ops::iterate(iterable);
    } catch (const TemplateError& e) {
        if (e.kind() == TemplateError::Kind::Runtime && e.line() == 0) throw e.located(s.expr->line, s.expr->column);
        throw;
    }
    if (s.filter) {
        std::vector<Value> kept;
        for (auto& item : items) {
            auto probe = std::make_shared<Scope>(scope);
            assign(*s.target, item, probe);
            if (truthy(eval(*s.filter, probe))) kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }
    if (items.empty()) {
        auto inner = std::make_shared<Scope>(scope);
        return exec(s.else_body, inner, out);
    }

    // State shared by loop.cycle / loop.changed across iterations.
    struct LoopState {
        int64_t index0 = 0;
        bool has_last = false;
        Value last;
    };
    auto state = std::make_shared<LoopState>();
    const Value cycle = Value::function("cycle", [state](Interpreter&, CallArgs& args) -> Value {
        if (args.positional.empty()) runtime_error("no items for cycling given");
        const auto n = static_cast<int64_t>(args.positional.size());
        return args.positional[static_cast<size_t>(state->index0 % n)];
    });
    const Value changed = Value::function("changed", [state](Interpreter&, CallArgs& args) -> Value {
        Value current = Value::list(args.positional);
        if (state->has_last && equals(current, state->last)) return Value(false);
        state->last = std::move(current);
        state->has_last = true;
        return Value(true);
    });
    std::shared_ptr<Function> recurse;
    if (s.recursive) {
        std::weak_ptr<Scope> weak = scope;
        const Stmt* stmt = &s;
        recurse = std::make_shared<Function>(Function{
            "loop", [stmt, weak, depth](Interpreter& interp, CallArgs& args) -> Value {
                if (args.positional.size() != 1) runtime_error("loop() takes exactly one argument");
                DepthGuard guard(interp.call_depth_);
                ScopePtr parent = weak.lock();
                if (!parent) runtime_error("loop() called outside its loop");
                std::string body;
                interp.exec_for(*stmt, args.positional[0], parent, body, depth + 1);
                return Value(std::move(body));
            }});
    }

    // jinja2 runs the else block unless some iteration reached the end of the body: a
    // break or continue skips the flag it resets there, so loops that only break or continue
    // run their else block too.
    bool completed_iteration = false;
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
        state->index0 = i;
        auto inner = std::make_shared<Scope>(scope);
        const Value& item = items[static_cast<size_t>(i)];
        assign(*s.target, item, inner);
        Value loop = Value::dict();
        Dict& d = loop.as_dict();
        d.kind = Dict::Kind::Loop;
        d.call = recurse;
        d.items.reserve(13);
        d.items.emplace_back(Value("index"), Value(i + 1));
        d.items.emplace_back(Value("index0"), Value(i));
        d.items.emplace_back(Value("revindex"), Value(n - i));
        d.items.emplace_back(Value("revindex0"), Value(n - i - 1));
        d.items.emplace_back(Value("first"), Value(i == 0));
        d.items.emplace_back(Value("last"), Value(i == n - 1));
        d.items.emplace_back(Value("length"), Value(n));
        d.items.emplace_back(Value("depth"), Value(static_cast<int64_t>(depth)));
        d.items.emplace_back(Value("depth0"), Value(static_cast<int64_t>(depth - 1)));
        d.items.emplace_back(Value("previtem"), i > 0 ? items[static_cast<size_t>(i - 1)]
                                                     : Value::undefined("there is no previous item"));
        d.items.emplace_back(Value("nextitem"), i + 1 < n ? items[static_cast<size_t>(i + 1)]
                                                          : Value::undefined("there is no next item"));
        d.items.emplace_back(Value("cycle"), cycle);
        d.items.emplace_back(Value("changed"), changed);
        inner->set("loop", std::move(loop));
        const Flow f = exec(s.body, inner, out);
        if (f == Flow::Normal) completed_iteration = true;
        if (f == Flow::Break) break;
    }
    state->last = Value();  // loop.changed(...) may have stored the loop itself
    if (!completed_iteration && !s.else_body.empty()) {
        auto inner = std::make_shared<Scope>(scope);
        return exec(s.else_body, inner, out);
    }
    return Flow::Normal;
}

Value Interpreter::make_macro(const std::string& name, const Signature& sig, const StmtList& body,
                              const ScopePtr& scope) {
    std::weak_ptr<Scope> weak = scope;
    const Signature* sig_ptr = &sig;
    const StmtList* body_ptr = &body;
    return Value::function(name, [name, sig_ptr, body_ptr, weak](Interpreter& interp, CallArgs& args) {
        return interp.run_macro(name, *sig_ptr, *body_ptr, weak, args);
    });
}

Value Interpreter::run_macro(const std::string& name, const Signature& sig, const StmtList& body,
                             const std::weak_ptr<Scope>& defining, CallArgs& args) {
    DepthGuard guard(call_depth_);
    ScopePtr parent = defining.lock();
    auto scope = std::make_shared<Scope>(parent ? parent : globals_);
    auto& kwargs = args.keyword;
    const size_t n = sig.params.size();
    const size_t first_default = n - sig.defaults.size();
    bool caller_param = false;
    for (size_t i = 0; i < n; ++i) {
        const std::string& param = sig.params[i];
        caller_param |= param == "caller";
        Value v;
        bool given = false;
        if (i < args.positional.size()) {
            v = args.positional[i];
            given = true;
        } else {
            for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
                if (it->first == param) {
                    v = std::move(it->second);
                    kwargs.erase(it);
                    given = true;
                    break;
                }
            }
        }
        if (!given) {
            if (i >= first_default) {
                v = eval(*sig.defaults[i - first_default], scope);
            } else {
                v = Value::undefined("parameter '" + param + "' was not provided");
            }
        }
        scope->set(param, std::move(v));
    }
    if (sig.uses_caller && !caller_param) {
        Value caller = Value::undefined("No caller defined");
        for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
            if (it->first == "caller") {
                caller = std::move(it->second);
                kwargs.erase(it);
                break;
            }
        }
        scope->set("caller", std::move(caller));
    }
    if (sig.uses_kwargs) {
        Value d = Value::dict();
        for (auto& [k, v] : kwargs) d.as_dict().set(k, std::move(v));
        scope->set("kwargs", std::move(d));
    } else if (!kwargs.empty()) {
        runtime_error("macro '" + name + "' takes no keyword argument '" + kwargs.front().first + "'");
    }
    if (sig.uses_varargs) {
        std::vector<Value> rest;
        for (size_t i = n; i < args.positional.size(); ++i) rest.push_back(args.positional[i]);
        scope->set("varargs", Value::tuple(std::move(rest)));
    } else if (args.positional.size() > n) {
        runtime_error("macro '" + name + "' takes not more than " + std::to_string(n) + " argument(s)");
    }
    std::string out;
    exec(body, scope, out);
    return Value(std::move(out));
}

void Interpreter::assign(const Expr& target, const Value& value, const ScopePtr& scope) {
    switch (target.kind) {
        case Expr::Kind::Name: scope->set(target.name, value); return;
        case Expr::Kind::Tuple: {
            std::vector<Value> items;
            try {
                items = ops::iterate(value);
            } catch (const TemplateError& e) {
                throw e.located(target.line, target.column);
            }
            const size_t want = target.items.size();
            if (items.size() > want)
                throw TemplateError(TemplateError::Kind::Runtime,
                                    "too many values to unpack (expected " + std::to_string(want) + ")", target.line,
                                    target.column);
            if (items.size() < want)
                throw TemplateError(TemplateError::Kind::Runtime,
                                    "not enough values to unpack (expected " + std::to_string(want) + ", got " +
                                        std::to_string(items.size()) + ")",
                                    target.line, target.column);
            for (size_t i = 0; i < want; ++i) assign(*target.items[i], items[i], scope);
            return;
        }
        case Expr::Kind::NSRef: {
            const Value* ns = scope->lookup(target.name);
            if (!ns || !ns->is_namespace())
                throw TemplateError(TemplateError::Kind::Runtime, "cannot assign attribute on non-namespace object",
                                    target.line, target.column);
            ns->as_dict().set(target.attr, value);
            return;
        }
        default:
            throw TemplateError(TemplateError::Kind::Runtime, "cannot assign to this expression", target.line,
                                target.column);
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
    try {
        return eval_node(e, scope);
    } catch (const TemplateError& err) {
        if (err.kind() == TemplateError::Kind::Runtime && err.line() == 0) throw err.located(e.line, e.column);
        throw;
    }
}

CallArgs Interpreter::eval_args(const Expr& e, const ScopePtr& scope) {
    CallArgs args;
    args.positional.reserve(e.items.size());
    for (const auto& a : e.items) args.positional.push_back(eval(*a, scope));
    if (e.kind == Expr::Kind::Call && e.b) {
        for (auto& v : ops::iterate(eval(*e.b, scope))) args.positional.push_back(std::move(v));
    }
    for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
    if (e.kind == Expr::Kind::Call && e.c) {
        const Value extra = eval(*e.c, scope);
        if (!extra.is_plain_dict()) runtime_error("argument after ** must be a mapping, not " + type_name(extra));
        for (const auto& [k, v] : extra.as_dict().items) {
            if (!k.is_string()) runtime_error("keywords must be strings");
            args.keyword.emplace_back(k.as_string(), v);
        }
    }
    return args;
}

Value Interpreter::apply_filter_chain(const Expr& chain, Value body, const ScopePtr& scope) {
    Value subject = chain.a ? apply_filter_chain(*chain.a, std::move(body), scope) : std::move(body);
    CallArgs args = eval_args(chain, scope);
    try {
        return call_filter(chain.name, subject, args);
    } catch (const TemplateError& err) {
        if (err.kind() == TemplateError::Kind::Runtime && err.line() == 0) throw err.located(chain.line, chain.column);
        throw;
    }
}

Value Interpreter::eval_node(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
        case Expr::Kind::Const: return e.value;
        case Expr::Kind::Name: {
            if (const Value* v = scope->lookup(e.name)) return *v;
            return Value::undefined("'" + e.name + "' is undefined");
        }
        case Expr::Kind::List:
        case Expr::Kind::Tuple: {
            std::vector<Value> items;
            items.reserve(e.items.size());
            for (const auto& i : e.items) items.push_back(eval(*i, scope));
            return e.kind == Expr::Kind::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
        }
        case Expr::Kind::Dict: {
            Value d = Value::dict();
            for (const auto& [k, v] : e.pairs) {
                Value key = eval(*k, scope);
                if ((key.is_list() && !key.is_tuple()) || key.is_plain_dict())
                    runtime_error("unhashable type: '" + type_name(key) + "'");
                d.as_dict().set(key, eval(*v, scope));
            }
            return d;
        }
        case Expr::Kind::Getattr: return getattr(eval(*e.a, scope), e.name);
        case Expr::Kind::Getitem: return eval_getitem(e, scope);
        case Expr::Kind::Slice: runtime_error("slice outside of a subscript");
        case Expr::Kind::Call: {
            Value callee = eval(*e.a, scope);
            CallArgs args = eval_args(e, scope);
            return call(callee, args);
        }
        case Expr::Kind::Filter: {
            if (!e.a) runtime_error("filter without a value");
            const Value subject = eval(*e.a, scope);
            CallArgs args = eval_args(e, scope);
            return call_filter(e.name, subject, args);
        }
        case Expr::Kind::Test: {
            const Value subject = eval(*e.a, scope);
            CallArgs args = eval_args(e, scope);
            return Value(call_test(e.name, subject, args));
        }
        case Expr::Kind::Neg: return ops::negate(eval(*e.a, scope));
        case Expr::Kind::Pos: return ops::positive(eval(*e.a, scope));
        case Expr::Kind::Not: return Value(!truthy(eval(*e.a, scope)));
        case Expr::Kind::Binary: {
            const Value a = eval(*e.a, scope);
            const Value b = eval(*e.b, scope);
            return ops::binary(e.op, a, b);
        }
        case Expr::Kind::And: {
            Value a = eval(*e.a, scope);
            if (!truthy(a)) return a;
            return eval(*e.b, scope);
        }
        case Expr::Kind::Or: {
            Value a = eval(*e.a, scope);
            if (truthy(a)) return a;
            return eval(*e.b, scope);
        }
        case Expr::Kind::Concat: {
            std::string out;
            for (const auto& i : e.items) out += to_str(eval(*i, scope));
            return Value(std::move(out));
        }
        case Expr::Kind::Compare: {
            Value left = eval(*e.a, scope);
            for (const auto& [op, operand] : e.compare) {
                Value right = eval(*operand, scope);
                if (!ops::compare(op, left, right)) return Value(false);
                left = std::move(right);
            }
            return Value(true);
        }
        case Expr::Kind::CondExpr:
            if (truthy(eval(*e.a, scope))) return eval(*e.b, scope);
            if (e.c) return eval(*e.c, scope);
            return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                    " evaluated to false and no else section was defined.");
        case Expr::Kind::NSRef: runtime_error("namespace reference outside of an assignment");
    }
    runtime_error("unknown expression");
}

Value Interpreter::eval_getitem(const Expr& e, const ScopePtr& scope) {
    const Value obj = eval(*e.a, scope);
    if (e.b->kind != Expr::Kind::Slice) return getitem(obj, eval(*e.b, scope));
    const Expr& s = *e.b;
    std::optional<int64_t> parts[3];
    bool valid = true;
    const Expr* exprs[3] = {s.a.get(), s.b.get(), s.c.get()};
    for (int i = 0; i < 3; ++i) {
        if (!exprs[i]) continue;
        const Value v = eval(*exprs[i], scope);
        if (v.is_integral()) {
            parts[i] = v.integral();
        } else if (!v.is_none()) {
            valid = false;  // TypeError inside getitem: jinja2 returns undefined
        }
    }
    // jinja2 compiles slicing to a plain Python subscript, so errors are raised, not undefined.
    if (obj.is_undefined()) runtime_error(obj.undefined_message());
    if (obj.is_plain_dict()) runtime_error("unhashable type: 'slice'");
    const bool sliceable = obj.is_string() || (obj.is_list() && obj.as_list().is_sequence());
    if (!sliceable) runtime_error(quote(type_name(obj)) + " object is not subscriptable");
    if (!valid) runtime_error("slice indices must be integers or None or have an __index__ method");
    return ops::slice(obj, parts[0], parts[1], parts[2]);
}

// ---------------------------------------------------------------------------------------------
// Attribute and item access, calls, filters, tests

Value Interpreter::getattr(const Value& obj, const std::string& name) {
    switch (obj.type()) {
        case Value::Type::Undefined: runtime_error(obj.undefined_message());
        case Value::Type::Dict: {
            const Dict& d = obj.as_dict();
            if (d.kind == Dict::Kind::Dict) {
                if (auto m = bound_method(obj, name)) return *m;
            }
            if (const Value* v = d.find(std::string_view(name))) return *v;
            return undefined_attribute(obj, name);
        }
        case Value::Type::List:
            if (obj.as_list().kind == List::Kind::Group) {
                if (name == "grouper") return obj.as_list().items.at(0);
                if (name == "list") return obj.as_list().items.at(1);
            }
            [[fallthrough]];
        case Value::Type::String:
        case Value::Type::Float:
            if (auto m = bound_method(obj, name)) return *m;
            return undefined_attribute(obj, name);
        default: return undefined_attribute(obj, name);
    }
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
    switch (obj.type()) {
        case Value::Type::Undefined: runtime_error(obj.undefined_message());
        case Value::Type::Dict:
            if (obj.is_plain_dict()) {
                if (!(key.is_list() && !key.is_tuple()) && !key.is_plain_dict()) {
                    if (const Value* v = obj.as_dict().find(key)) return *v;
                }
                if (key.is_string()) {
                    if (auto m = bound_method(obj, key.as_string())) return *m;
                }
                return undefined_item(obj, key);
            }
            if (key.is_string()) return getattr(obj, key.as_string());
            return undefined_item(obj, key);
        case Value::Type::List: {
            const List& l = obj.as_list();
            if (l.is_sequence() && key.is_integral()) {
                int64_t i = key.integral();
                const auto n = static_cast<int64_t>(l.items.size());
                if (i < 0) i += n;
                if (i >= 0 && i < n) return l.items[static_cast<size_t>(i)];
                return undefined_item(obj, key);
            }
            if (key.is_string()) return getattr(obj, key.as_string());
            return undefined_item(obj, key);
        }
        case Value::Type::String:
            if (key.is_integral()) {
                const std::string& s = obj.as_string();
                int64_t i = key.integral();
                const auto n = static_cast<int64_t>(text::length(s));
                if (i < 0) i += n;
                if (i >= 0 && i < n) {
                    std::string c = text::char_at(s, static_cast<size_t>(i));
                    return obj.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c));
                }
                return undefined_item(obj, key);
            }
            if (key.is_string()) return getattr(obj, key.as_string());
            return undefined_item(obj, key);
        default:
            if (key.is_string()) return getattr(obj, key.as_string());
            return undefined_item(obj, key);
    }
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
    if (callee.is_function()) {
        // Keep the function alive while it runs, even if the call rebinds its name.
        const Value keep = callee;
        return keep.as_function().call(*this, args);
    }
    if (callee.is_dict() && callee.as_dict().call) {
        const std::shared_ptr<Function> fn = callee.as_dict().call;
        return fn->call(*this, args);
    }
    if (callee.is_undefined()) runtime_error(callee.undefined_message());
    runtime_error(quote(type_name(callee)) + " object is not callable");
}

Value Interpreter::call_filter(const std::string& name, const Value& subject, CallArgs& args) {
    const FilterFn* f = find_filter(name);
    if (!f) runtime_error("no filter named '" + name + "'");
    return (*f)(*this, subject, args);
}

bool Interpreter::call_test(const std::string& name, const Value& subject, CallArgs& args) {
    const TestFn* t = find_test(name);
    if (!t) runtime_error("no test named '" + name + "'");
    return (*t)(*this, subject, args);
}

}  // namespace hearth::chat
