#pragma once
// Renders a parsed template. Scopes follow jinja2: the template's top level shares one scope with
// the render variables; every for-loop iteration, macro call, {% with %}, {% filter %} and block
// set body gets a child scope, so `set` inside them does not leak out (namespace() objects are
// how templates carry values out of loops); `if` opens no scope.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/ast.h"
#include "chat/value.h"

namespace hearth::chat {

struct Scope;
using ScopePtr = std::shared_ptr<Scope>;

struct Scope {
    ScopePtr parent;
    std::vector<std::pair<std::string, Value>> vars;

    explicit Scope(ScopePtr p = nullptr) : parent(std::move(p)) {}
    // Searches this scope and its parents.
    const Value* lookup(std::string_view name) const;
    void set(std::string_view name, Value value);
};

class Interpreter {
public:
    // `globals` holds the render variables and global functions; the template's own top-level
    // variables go into a child of it.
    Interpreter(std::shared_ptr<const Program> program, ScopePtr globals);

    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;

    std::string render();

    // Namespaces are the only mutable objects a template can build, so the only way to make a
    // reference cycle (set ns.self = ns). The interpreter empties every namespace it saw when it
    // is done, which breaks such cycles.
    void track_namespace(const Value& ns) { namespaces_.push_back(ns); }

    // jinja2's environment.getattr / getitem: a.b tries the attribute (method) first, then the
    // item; a[b] the item first, then the attribute. Missing ones give undefined values; only
    // an undefined object raises.
    Value getattr(const Value& obj, const std::string& name);
    Value getitem(const Value& obj, const Value& key);
    Value call(const Value& callee, CallArgs& args);
    Value call_filter(const std::string& name, const Value& subject, CallArgs& args);
    bool call_test(const std::string& name, const Value& subject, CallArgs& args);

    // Runs a macro (or a {% call %} block's caller) defined in `scope`.
    Value run_macro(const std::string& name, const Signature& sig, const StmtList& body,
                    const std::weak_ptr<Scope>& scope, CallArgs& args);

private:
    enum class Flow { Normal, Break, Continue };

    Flow exec(const StmtList& body, const ScopePtr& scope, std::string& out);
    Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out);
    Flow exec_for(const Stmt& s, const Value& iterable, const ScopePtr& scope, std::string& out, int depth);
    Value eval(const Expr& e, const ScopePtr& scope);
    Value eval_node(const Expr& e, const ScopePtr& scope);
    Value eval_getitem(const Expr& e, const ScopePtr& scope);
    CallArgs eval_args(const Expr& e, const ScopePtr& scope);
    // Applies a filter chain (Filter nodes whose innermost subject is null) to `body`.
    Value apply_filter_chain(const Expr& chain, Value body, const ScopePtr& scope);
    void assign(const Expr& target, const Value& value, const ScopePtr& scope);
    Value make_macro(const std::string& name, const Signature& sig, const StmtList& body, const ScopePtr& scope);

    std::shared_ptr<const Program> program_;
    ScopePtr globals_;
    int call_depth_ = 0;
    std::vector<Value> namespaces_;
};

}  // namespace hearth::chat
