#pragma once
// The syntax tree of a parsed template: expressions and statements, each with the line and
// column where it starts. Nodes are plain structs; the interpreter dispatches on `kind`.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace hearth::chat {

struct Node {
    int line = 0;
    int column = 0;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct Expr : Node {
    enum class Kind {
        Const,     // value
        Name,      // name
        List,      // items
        Tuple,     // items
        Dict,      // pairs
        Getattr,   // a.name
        Getitem,   // a[b]; b may be a Slice
        Slice,     // a (start), b (stop), c (step), each optional
        Call,      // a(args, kwargs, *b, **c)
        Filter,    // a|name(args, kwargs); a is null inside {% filter %} and {% set x | f %}
        Test,      // a is name(args, kwargs)
        Neg,       // -a
        Pos,       // +a
        Not,       // not a
        Binary,    // a op b: + - * / // % **
        And,       // a and b
        Or,        // a or b
        Concat,    // items joined with ~
        Compare,   // a op1 b1 op2 b2 ...: == != < <= > >= in notin
        CondExpr,  // b if a else c (c optional)
        NSRef,     // name.attr as an assignment target
    };
    Kind kind;
    explicit Expr(Kind k) : kind(k) {}

    Value value;                                           // Const
    std::string name;                                      // Name, Getattr, Filter, Test, NSRef
    std::string attr;                                      // NSRef
    std::string op;                                        // Binary
    ExprPtr a, b, c;
    std::vector<ExprPtr> items;                            // List, Tuple, Concat, Call/Filter/Test args
    std::vector<std::pair<ExprPtr, ExprPtr>> pairs;        // Dict
    std::vector<std::pair<std::string, ExprPtr>> kwargs;   // Call, Filter, Test
    std::vector<std::pair<std::string, ExprPtr>> compare;  // Compare: (operator, operand)
};

// Parameters of a macro or of a {% call %} block.
struct Signature {
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;  // for the last defaults.size() params
    bool uses_caller = false;
    bool uses_varargs = false;
    bool uses_kwargs = false;
};

struct Stmt : Node {
    enum class Kind {
        Text,         // text
        Print,        // {{ expr }}
        If,           // branches (test, body), else_body
        For,          // target, iter, filter, body, else_body, recursive
        Set,          // target = expr
        SetBlock,     // {% set target | filter %} body {% endset %}
        Macro,        // name, signature, body
        CallBlock,    // {% call(signature) expr %} body {% endcall %}
        FilterBlock,  // {% filter f %} body {% endfilter %}
        With,         // {% with targets = values %} body {% endwith %}
        Break,
        Continue,
        Block,        // a plain body ({% generation %})
    };
    Kind kind;
    explicit Stmt(Kind k) : kind(k) {}

    std::string text;  // Text
    std::string name;  // Macro
    ExprPtr expr;      // Print, Set (value), CallBlock (the call), For (iter)
    ExprPtr target;    // Set, SetBlock, For
    ExprPtr filter;    // For (loop filter), SetBlock/FilterBlock (filter chain)
    StmtList body;
    StmtList else_body;
    std::vector<std::pair<ExprPtr, StmtList>> branches;  // If
    std::vector<std::pair<ExprPtr, ExprPtr>> assignments;  // With: (target, value)
    Signature signature;                                  // Macro, CallBlock
    bool recursive = false;                               // For
};

struct Program {
    StmtList body;
};

}  // namespace hearth::chat
