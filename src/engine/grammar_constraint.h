#pragma once
// Builds grammar::TokenConstraints for a model's tokenizer: every token's bytes, control tokens
// never allowed, the end-of-generation tokens allowed once the grammar is complete.
#include <memory>
#include <string_view>

#include "grammar/token_constraint.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

// The model's vocabulary as a trie, to share between constraints (a server builds it once).
// n_vocab: the model's (its output rows may outnumber the tokenizer's tokens; those ids are
// never allowed).
std::shared_ptr<const grammar::VocabTrie> make_vocab_trie(const Tokenizer& tokenizer, int32_t n_vocab);

// gbnf: grammar text (see docs/grammar.md). Throws hearth::Error for a bad grammar.
std::unique_ptr<grammar::TokenConstraint> make_token_constraint(std::shared_ptr<const grammar::VocabTrie> vocab,
                                                                std::string_view gbnf);
std::unique_ptr<grammar::TokenConstraint> make_token_constraint(const Tokenizer& tokenizer, int32_t n_vocab,
                                                                std::string_view gbnf);

}  // namespace hearth
