// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchExecutorErrors as E} from "../interfaces/IBatchExecutor.sol";
import {IntentHashing} from "./IntentHashing.sol";

/// @title Reader of settle's packed orders
/// @notice `settle` takes its orders as one packed byte string rather than ABI-encoded structs:
/// ABI encoding spends a 32-byte word on every offset, length and address, and an order's
/// calldata (4 gas per zero byte, 16 per non-zero byte) is then ~6.2k gas of a ~50k settlement.
/// The packed form carries the same fields, big-endian, with no padding; signed values keep
/// their full 256 bits (a zero byte costs 4 gas), so every signable intent can be submitted.
///
/// Batch:  count (2 bytes) ‖ order × count, and nothing after the last order.
/// Order (offset: field, bytes):
///     0: owner 20        20: keeper 20 (0 = any)   40: nonce 32        72: validAfter 32
///   104: deadline 32    136: feeToken 20          156: maxFee 32      188: fee 32 (keeper's)
///   220: sell count 1   221: buy count 1          222: signature length 2
///   224: signature, then the sell legs, then the buy legs:
///   sell leg: token 20 ‖ signed maximum 32 ‖ amount taken 32 ‖ to-order 2 ‖ to-leg 1   (87)
///   buy leg:  token 20 ‖ signed minimum 32 ‖ amount the executor delivers 32             (84)
/// The intent's `executor` field is not carried: the digest is computed with address(this).
/// A sell leg's to-order 0xffff sends the amount to the executor; any other value names the
/// order (and its buy leg) whose owner receives it directly (a coincidence of wants needs no
/// hop through the executor). Readers take absolute calldata positions; `index` bounds-checks
/// every order once, so each read of an indexed order stays inside the `orders` argument.
library PackedOrders {
    uint256 internal constant HEADER_SIZE = 224;
    uint256 internal constant SELL_SIZE = 87;
    uint256 internal constant BUY_SIZE = 84;
    /// @notice to-order value that sends a sell leg to the executor.
    uint256 internal constant TO_EXECUTOR = 0xffff;

    /// @notice Absolute calldata positions of each order, the batch-wide index of each order's
    /// first buy leg (buy legs numbered 0, 1, ... across the batch, in order), and their total.
    function index(
        bytes calldata orders
    ) internal pure returns (uint256[] memory at, uint256[] memory firstLeg, uint256 buyLegs) {
        uint256 p = _offset(orders);
        uint256 end = p + orders.length;
        if (orders.length < 2) revert E.MalformedOrders(0);
        uint256 count = _u16(p);
        p += 2;
        at = new uint256[](count);
        firstLeg = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 next = p + HEADER_SIZE;
            if (next > end) revert E.MalformedOrders(i);
            (uint256 sells, uint256 buys, uint256 sigLength) = counts(p);
            next += sigLength + sells * SELL_SIZE + buys * BUY_SIZE;
            if (next > end) revert E.MalformedOrders(i);
            at[i] = p;
            firstLeg[i] = buyLegs;
            buyLegs += buys;
            p = next;
        }
        if (p != end) revert E.MalformedOrders(count);
    }

    /// @notice Bounds-checks a single order (checkOrder's argument): it must fill `order` exactly.
    function single(bytes calldata order) internal pure returns (uint256 p) {
        p = _offset(order);
        if (order.length < HEADER_SIZE) revert E.MalformedOrders(0);
        (uint256 sells, uint256 buys, uint256 sigLength) = counts(p);
        if (HEADER_SIZE + sigLength + sells * SELL_SIZE + buys * BUY_SIZE != order.length) {
            revert E.MalformedOrders(0);
        }
    }

    function owner(uint256 p) internal pure returns (address) {
        return _addressAt(p, 0);
    }

    function keeper(uint256 p) internal pure returns (address) {
        return _addressAt(p, 20);
    }

    function nonce(uint256 p) internal pure returns (uint256) {
        return _wordAt(p, 40);
    }

    function validAfter(uint256 p) internal pure returns (uint256) {
        return _wordAt(p, 72);
    }

    function deadline(uint256 p) internal pure returns (uint256) {
        return _wordAt(p, 104);
    }

    function feeToken(uint256 p) internal pure returns (address) {
        return _addressAt(p, 136);
    }

    function maxFee(uint256 p) internal pure returns (uint256) {
        return _wordAt(p, 156);
    }

    function fee(uint256 p) internal pure returns (uint256) {
        return _wordAt(p, 188);
    }

    /// @notice Number of sell legs, buy legs, and the signature's length in bytes.
    function counts(uint256 p) internal pure returns (uint256 sells, uint256 buys, uint256 sigLength) {
        uint256 packed = _wordAt(p, 220);
        sells = packed >> 248;
        buys = (packed >> 240) & 0xff;
        sigLength = (packed >> 224) & 0xffff;
    }

    // Setting a calldata slice's offset and length is one write each (docs/SECURITY.md, slither).
    // slither-disable-start write-after-write
    function signature(uint256 p, uint256 sigLength) internal pure returns (bytes calldata sig) {
        assembly ("memory-safe") {
            sig.offset := add(p, HEADER_SIZE)
            sig.length := sigLength
        }
    }
    // slither-disable-end write-after-write

    /// @notice Position of the first sell leg.
    function sellLegs(uint256 p, uint256 sigLength) internal pure returns (uint256) {
        unchecked {
            return p + HEADER_SIZE + sigLength; // inside calldata: index() bounds-checked it
        }
    }

    /// @notice Position of the first buy leg, given the first sell leg's and the sell count.
    function buyLegs(uint256 sells, uint256 sellCount) internal pure returns (uint256) {
        unchecked {
            return sells + sellCount * SELL_SIZE;
        }
    }

    /// @notice Position of sell leg `j` (`j` < the sell count), given the first sell leg's.
    function sellLeg(uint256 sells, uint256 j) internal pure returns (uint256) {
        unchecked {
            return sells + j * SELL_SIZE;
        }
    }

    /// @notice Position of buy leg `j` (`j` < the buy count), given the first buy leg's.
    function buyLeg(uint256 buys, uint256 j) internal pure returns (uint256) {
        unchecked {
            return buys + j * BUY_SIZE;
        }
    }

    /// @notice A leg's token (sell or buy leg at `q`).
    function legToken(uint256 q) internal pure returns (address) {
        return _addressAt(q, 0);
    }

    /// @notice A leg's signed limit: a sell's maximum or a buy's minimum.
    function legLimit(uint256 q) internal pure returns (uint256) {
        return _wordAt(q, 20);
    }

    /// @notice A leg's keeper-chosen amount: taken (sell) or delivered by the executor (buy).
    function legAmount(uint256 q) internal pure returns (uint256) {
        return _wordAt(q, 52);
    }

    /// @notice A sell leg's destination: an order index (TO_EXECUTOR for the executor) and leg.
    function sellDestination(uint256 q) internal pure returns (uint256 toOrder, uint256 toLeg) {
        uint256 packed = _wordAt(q, 84);
        toOrder = packed >> 240;
        toLeg = (packed >> 232) & 0xff;
    }

    /// @notice hashStruct(intent) per EIP-712, with executor = address(this): equal to
    /// IntentHashing.hash of the same intent (a test compares the two).
    function structHash(
        uint256 p,
        uint256 sells,
        uint256 sellCount,
        uint256 buys,
        uint256 buyCount
    ) internal view returns (bytes32 h) {
        bytes32 sellsHash = _legsHash(sells, sellCount, SELL_SIZE);
        bytes32 buysHash = _legsHash(buys, buyCount, BUY_SIZE);
        bytes32 typeHash = IntentHashing.REBALANCE_INTENT_TYPEHASH;
        // Scratch memory past the free pointer (not kept): the 11 words of encodeData.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), shr(96, calldataload(p)))
            mstore(add(m, 0x40), address())
            mstore(add(m, 0x60), shr(96, calldataload(add(p, 20))))
            mstore(add(m, 0x80), calldataload(add(p, 40)))
            mstore(add(m, 0xa0), calldataload(add(p, 72)))
            mstore(add(m, 0xc0), calldataload(add(p, 104)))
            mstore(add(m, 0xe0), sellsHash)
            mstore(add(m, 0x100), buysHash)
            mstore(add(m, 0x120), shr(96, calldataload(add(p, 136))))
            mstore(add(m, 0x140), calldataload(add(p, 156)))
            h := keccak256(m, 0x160)
        }
    }

    /// @dev keccak256 of the concatenated TokenAmount struct hashes of `count` legs `stride`
    /// bytes apart (keccak256("") for none, as EIP-712 hashes an empty array).
    function _legsHash(uint256 q, uint256 count, uint256 stride) private pure returns (bytes32 h) {
        bytes32 typeHash = IntentHashing.TOKEN_AMOUNT_TYPEHASH;
        assembly ("memory-safe") {
            let list := mload(0x40)
            let scratch := add(list, shl(5, count))
            mstore(scratch, typeHash)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(scratch, 0x20), shr(96, calldataload(q)))
                mstore(add(scratch, 0x40), calldataload(add(q, 20)))
                mstore(add(list, shl(5, i)), keccak256(scratch, 0x60))
                q := add(q, stride)
            }
            h := keccak256(list, shl(5, count))
        }
    }

    function _offset(bytes calldata data) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := data.offset
        }
    }

    function _u16(uint256 p) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(240, calldataload(p))
        }
    }

    /// @dev The 32-byte word at calldata position p + offset (positions are calldata offsets,
    /// far below 2**64: the sum cannot overflow).
    function _wordAt(uint256 p, uint256 offset) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := calldataload(add(p, offset))
        }
    }

    /// @dev The 20-byte address at calldata position p + offset.
    function _addressAt(uint256 p, uint256 offset) private pure returns (address a) {
        assembly ("memory-safe") {
            a := shr(96, calldataload(add(p, offset)))
        }
    }
}
