"""hashIntent / DOMAIN_SEPARATOR: the keeper's Python EIP-712 definition and the contract agree."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.intents.signing import SECP256K1_N, intent_digest, intent_struct_hash
from keeper.intents.types import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    REBALANCE_INTENT_TYPE,
    ZERO_ADDRESS,
    Execution,
    Order,
    RebalanceIntent,
    TokenAmount,
)
from keeper.settlement.abi import encode_order

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
uint256 = st.integers(min_value=0, max_value=2**256 - 1)
legs = st.lists(st.builds(TokenAmount, token=addresses, amount=uint256), max_size=3)


def test_python_digest_equals_the_contracts_for_a_multi_leg_intent(
    executor, alice, weth_like, usdc, wbtc, chain_id
):
    intent = RebalanceIntent(
        owner=alice.address,
        executor=executor.address,
        keeper=alice.address,
        nonce=2**200 + 5,
        valid_after=1,
        deadline=2**40,
        sells=[
            TokenAmount(token=weth_like.address, amount=10**18),
            TokenAmount(token=wbtc.address, amount=3 * 10**8),
        ],
        buys=[TokenAmount(token=usdc.address, amount=2**255)],
        fee_token=usdc.address,
        max_fee=12_345,
    )

    assert bytes(executor.hashIntent(intent.as_abi())) == intent_digest(intent, chain_id)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    owner=addresses,
    keeper=addresses,
    nonce=uint256,
    window=st.tuples(uint256, uint256).map(sorted),
    sells=legs,
    buys=legs,
    fee_token=addresses,
    max_fee=uint256,
)
def test_python_digest_equals_the_contracts_for_any_intent(
    executor, chain_id, owner, keeper, nonce, window, sells, buys, fee_token, max_fee
):
    if int(owner, 16) == 0:
        owner = "0x" + "01" * 20
    if int(fee_token, 16) == 0 and max_fee:  # the model refuses a fee cap without a fee token
        fee_token = "0x" + "02" * 20
    intent = RebalanceIntent(
        owner=owner,
        executor=executor.address,
        keeper=keeper,
        nonce=nonce,
        valid_after=window[0],
        deadline=window[1],
        sells=sells,
        buys=buys,
        fee_token=fee_token,
        max_fee=max_fee,
    )

    assert bytes(executor.hashIntent(intent.as_abi())) == intent_digest(intent, chain_id)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.integers(1, SECP256K1_N - 1),
    designated=st.booleans(),
    nonce=uint256,
    started=st.integers(0, 10**6),
    lasts=st.integers(3_600, 2**256 - 1),
    sells=st.lists(st.builds(TokenAmount, token=addresses, amount=uint256), min_size=1, max_size=3),
    # distinct buy tokens, as the keeper's intake requires
    buys=st.lists(
        st.builds(TokenAmount, token=addresses, amount=uint256),
        min_size=1,
        max_size=3,
        unique_by=lambda leg: leg.token,
    ),
    fee_token=addresses,
    max_fee=uint256,
    fee_percent=st.integers(0, 100),
)
def test_the_packed_orders_struct_hash_equals_the_abi_intents_for_any_intent(
    intents,
    executor,
    keeper,
    key,
    designated,
    nonce,
    started,
    lasts,
    sells,
    buys,
    fee_token,
    max_fee,
    fee_percent,
):
    # Signed over hashIntent (IntentHashing, from the ABI struct): checkOrder recomputes the
    # digest from the packed bytes, so it accepts the signature only if the two hashes agree.
    owner = Account.from_key(key.to_bytes(32, "big"))
    if int(fee_token, 16) == 0:
        fee_token = "0x" + "02" * 20
    now = intents.now()
    intent = RebalanceIntent(
        owner=owner.address,
        executor=executor.address,
        keeper=keeper.address if designated else ZERO_ADDRESS,
        nonce=nonce,
        valid_after=max(now - started, 0),
        deadline=min(now + lasts, 2**256 - 1),
        sells=sells,
        buys=buys,
        fee_token=fee_token,
        max_fee=max_fee,
    )
    digest = bytes(executor.hashIntent(intent.as_abi()))
    order = Order(
        intent=intent,
        signature=owner.unsafe_sign_hash(digest).signature,
        # Nothing taken (so no vault check applies), random buy amounts and fee within the cap.
        execution=Execution(
            sell_amounts=[0] * len(sells),
            buy_amounts=[leg.amount // 2 for leg in buys],
            fee=max_fee * fee_percent // 100,
        ),
    )

    assert bytes(executor.checkOrder(encode_order(order), keeper)) == b"\x00" * 4


def test_the_type_string_is_the_one_documented_in_the_design_contract():
    assert REBALANCE_INTENT_TYPE == (
        "RebalanceIntent(address owner,address executor,address keeper,uint256 nonce,"
        "uint256 validAfter,uint256 deadline,TokenAmount[] sells,TokenAmount[] buys,"
        "address feeToken,uint256 maxFee)TokenAmount(address token,uint256 amount)"
    )


def test_struct_hash_is_keccak_of_typehash_and_fields(executor, alice, weth_like, chain_id):
    intent = RebalanceIntent(
        owner=alice.address, executor=executor.address, nonce=1, deadline=2, buys=[]
    )
    intent = intent.model_copy(update={"sells": (TokenAmount(token=weth_like.address, amount=7),)})
    leg = keccak(
        keccak(text="TokenAmount(address token,uint256 amount)")
        + bytes(12)
        + bytes.fromhex(weth_like.address[2:])
        + (7).to_bytes(32, "big")
    )

    def word(value: int | str) -> bytes:
        return (int(value, 16) if isinstance(value, str) else value).to_bytes(32, "big")

    expected = keccak(
        keccak(text=REBALANCE_INTENT_TYPE)
        + word(alice.address)
        + word(executor.address)
        + word(0)
        + word(1)
        + word(0)
        + word(2)
        + keccak(leg)
        + keccak(b"")
        + word(0)
        + word(0)
    )
    assert intent_struct_hash(intent) == expected
    digest = keccak(b"\x19\x01" + bytes(executor.DOMAIN_SEPARATOR()) + expected)
    assert bytes(executor.hashIntent(intent.as_abi())) == digest


def _domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    domain_type = (
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    return keccak(
        keccak(text=domain_type)
        + keccak(text=DOMAIN_NAME)
        + keccak(text=DOMAIN_VERSION)
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(verifying_contract[2:])
    )


def test_domain_separator_binds_name_version_chain_and_executor(executor, chain_id):
    assert bytes(executor.DOMAIN_SEPARATOR()) == _domain_separator(chain_id, executor.address)
    domain = executor.eip712Domain()
    assert (domain.name, domain.version, domain.chainId) == (DOMAIN_NAME, DOMAIN_VERSION, chain_id)
    assert domain.verifyingContract == executor.address


def test_domain_separator_is_rebuilt_when_the_chain_id_changes(executor, chain, chain_id):
    web3 = chain.provider.web3
    before = bytes(executor.DOMAIN_SEPARATOR())
    web3.provider.make_request("anvil_setChainId", [chain_id + 1])
    try:
        after = bytes(executor.DOMAIN_SEPARATOR())
    finally:
        web3.provider.make_request("anvil_setChainId", [chain_id])

    assert after == _domain_separator(chain_id + 1, executor.address) != before
    assert bytes(executor.DOMAIN_SEPARATOR()) == before
