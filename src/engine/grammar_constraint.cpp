#include "engine/grammar_constraint.h"

#include <algorithm>
#include <string>
#include <vector>

#include "grammar/grammar.h"

namespace hearth {

std::shared_ptr<const grammar::VocabTrie> make_vocab_trie(const Tokenizer& tokenizer, int32_t n_vocab) {
    std::vector<std::string> bytes(static_cast<size_t>(n_vocab));
    std::vector<int32_t> end_tokens;
    for (TokenId id = 0; id < std::min(n_vocab, tokenizer.n_vocab()); ++id) {
        if (tokenizer.is_end_of_generation(id)) {
            end_tokens.push_back(id);
            continue;
        }
        // Control, unknown and unused tokens render as "": never allowed.
        bytes[static_cast<size_t>(id)] = std::string(tokenizer.token_to_piece(id));
    }
    return std::make_shared<const grammar::VocabTrie>(bytes, end_tokens);
}

std::unique_ptr<grammar::TokenConstraint> make_token_constraint(std::shared_ptr<const grammar::VocabTrie> vocab,
                                                                std::string_view gbnf) {
    return std::make_unique<grammar::TokenConstraint>(grammar::parse_gbnf(gbnf), std::move(vocab));
}

std::unique_ptr<grammar::TokenConstraint> make_token_constraint(const Tokenizer& tokenizer, int32_t n_vocab,
                                                                std::string_view gbnf) {
    grammar::Grammar parsed = grammar::parse_gbnf(gbnf);  // a bad grammar fails before the trie is built
    return std::make_unique<grammar::TokenConstraint>(std::move(parsed), make_vocab_trie(tokenizer, n_vocab));
}

}  // namespace hearth
