/*
 * rules_opcodes.h - the one list of the rule VM's instructions.
 *
 * X-macro: OP(name, pops, pushes, operand, text). rules_int.h builds enum rules_op from it,
 * rules_compile.c the table the verifier and the disassembler (`riskctl rules explain`) read.
 * The VM (rules_vm.c) has one case per entry. Values on the stack are doubles: numbers, 0/1
 * for booleans, symbol codes for symbols; NaN stands for "missing or undefined" (a feature not
 * known for the customer, a division by zero). Every comparison with a NaN operand yields 0 and
 * is counted as a missing read. Operands: K the constant k; F the feature a; FK both; FKK the
 * feature a and the constants pool[b], pool[b+1]; JUMP the target b; LIST the pool slot b
 * holding a count followed by that many items; FLIST the feature a and such a list.
 * Jumps only go forward, so every program ends.
 */
/* loads */
OP(PUSH,            0, 1, OPD_K,    "push the constant")
OP(LOAD,            0, 1, OPD_F,    "push the feature (NaN when missing)")
OP(TEST_F,          0, 1, OPD_F,    "push 1 when the boolean feature is known and true, else 0")
/* arithmetic on numbers; NaN in, NaN out */
OP(NEG_F64,         1, 1, OPD_NONE, "negate")
OP(ADD_F64,         2, 1, OPD_NONE, "add")
OP(SUB_F64,         2, 1, OPD_NONE, "subtract")
OP(MUL_F64,         2, 1, OPD_NONE, "multiply")
OP(DIV_F64,         2, 1, OPD_NONE, "divide (by zero: NaN)")
OP(ABS_F64,         1, 1, OPD_NONE, "absolute value")
OP(MIN_F64,         2, 1, OPD_NONE, "smaller of two")
OP(MAX_F64,         2, 1, OPD_NONE, "larger of two")
/* comparisons of two stack values */
OP(LT_F64,          2, 1, OPD_NONE, "less than")
OP(LE_F64,          2, 1, OPD_NONE, "at most")
OP(GT_F64,          2, 1, OPD_NONE, "greater than")
OP(GE_F64,          2, 1, OPD_NONE, "at least")
OP(EQ_F64,          2, 1, OPD_NONE, "numbers equal")
OP(NE_F64,          2, 1, OPD_NONE, "numbers differ")
OP(EQ_BOOL,         2, 1, OPD_NONE, "booleans equal")
OP(NE_BOOL,         2, 1, OPD_NONE, "booleans differ")
OP(EQ_SYM,          2, 1, OPD_NONE, "symbols equal")
OP(NE_SYM,          2, 1, OPD_NONE, "symbols differ")
OP(BETWEEN_F64,     3, 1, OPD_NONE, "lo <= x <= hi (stack: x lo hi)")
OP(IN_F64,          1, 1, OPD_LIST, "number is one of the list")
/* a feature compared with constants, in one instruction */
OP(LT_F64_FK,       0, 1, OPD_FK,   "feature < k")
OP(LE_F64_FK,       0, 1, OPD_FK,   "feature <= k")
OP(GT_F64_FK,       0, 1, OPD_FK,   "feature > k")
OP(GE_F64_FK,       0, 1, OPD_FK,   "feature >= k")
OP(EQ_F64_FK,       0, 1, OPD_FK,   "feature == k")
OP(NE_F64_FK,       0, 1, OPD_FK,   "feature != k")
OP(EQ_BOOL_FK,      0, 1, OPD_FK,   "boolean feature == k")
OP(NE_BOOL_FK,      0, 1, OPD_FK,   "boolean feature != k")
OP(EQ_SYM_FK,       0, 1, OPD_FK,   "symbol feature == symbol k")
OP(NE_SYM_FK,       0, 1, OPD_FK,   "symbol feature != symbol k")
OP(BETWEEN_F64_FKK, 0, 1, OPD_FKK,  "lo <= feature <= hi")
OP(IN_F64_F,        0, 1, OPD_FLIST, "feature is one of the numbers")
OP(IN_SYM_F,        0, 1, OPD_FLIST, "symbol feature is one of the symbols")
/* logic and control */
OP(NOT,             1, 1, OPD_NONE, "1 - x")
OP(JUMP_IF_FALSE,   1, 0, OPD_JUMP, "and: when 0, jump keeping it; else drop it")
OP(JUMP_IF_TRUE,    1, 0, OPD_JUMP, "or: when 1, jump keeping it; else drop it")
OP(RET,             1, 0, OPD_NONE, "the rule fires when the value is 1")
