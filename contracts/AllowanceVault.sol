// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IAllowanceVault} from "./interfaces/IAllowanceVault.sol";
import {AllowancePermit} from "./interfaces/IIntentTypes.sol";
import {IntentHashing} from "./libraries/IntentHashing.sol";
import {OwnerSignature} from "./libraries/OwnerSignature.sol";

/// @title AllowanceVault
/// @notice Holds users' token approvals and per-token allowances; only its executor can pull,
/// only to itself. Deployed by the BatchExecutor's constructor (see IAllowanceVault).
contract AllowanceVault is IAllowanceVault, EIP712 {
    using SafeERC20 for IERC20;

    /// @dev One storage slot per (owner, token), like permit2: a pull is one SLOAD + one SSTORE.
    struct PackedAllowance {
        uint160 amount;
        uint48 expiration;
        uint48 nonce;
    }

    /// @inheritdoc IAllowanceVault
    address public immutable executor;

    mapping(address owner => mapping(address token => PackedAllowance)) private _allowances;

    constructor(address executor_) EIP712("IntentRebalancerVault", "1") {
        executor = executor_;
    }

    /// @inheritdoc IAllowanceVault
    function allowance(
        address owner,
        address token
    ) external view returns (uint160 amount, uint48 expiration, uint48 nonce) {
        PackedAllowance memory a = _allowances[owner][token];
        return (a.amount, a.expiration, a.nonce);
    }

    /// @inheritdoc IAllowanceVault
    /// @dev Bumping the nonce kills permits signed but not yet submitted: a revocation
    /// (approve(token, 0, 0)) cannot be undone by someone holding an older permit, and no older
    /// permit can overwrite an allowance the owner set after signing it.
    function approve(address token, uint160 amount, uint48 expiration) external {
        PackedAllowance storage a = _allowances[msg.sender][token];
        uint48 nonce = a.nonce + 1;
        a.amount = amount;
        a.expiration = expiration;
        a.nonce = nonce;
        emit AllowanceSet(msg.sender, token, amount, expiration, nonce);
    }

    /// @inheritdoc IAllowanceVault
    function permit(AllowancePermit calldata permit_, bytes calldata signature) external {
        if (block.timestamp > permit_.deadline) revert PermitExpired(permit_.deadline);
        PackedAllowance storage a = _allowances[permit_.owner][permit_.token];
        if (permit_.nonce != a.nonce) {
            revert InvalidPermitNonce(permit_.owner, permit_.token, a.nonce, permit_.nonce);
        }
        bytes32 digest = _hashTypedDataV4(IntentHashing.hash(permit_));
        if (!OwnerSignature.isValid(permit_.owner, digest, signature)) {
            revert InvalidPermitSignature(permit_.owner);
        }
        a.amount = permit_.amount;
        a.expiration = permit_.expiration;
        a.nonce = permit_.nonce + 1;
        emit AllowanceSet(permit_.owner, permit_.token, permit_.amount, permit_.expiration, a.nonce);
    }

    /// @inheritdoc IAllowanceVault
    /// @dev Bumping the nonce kills permits signed but not yet submitted, so a lockdown cannot be
    /// undone by someone holding an old permit.
    function lockdown(address[] calldata tokens) external {
        for (uint256 i; i < tokens.length; ++i) {
            PackedAllowance storage a = _allowances[msg.sender][tokens[i]];
            a.amount = 0;
            a.nonce += 1;
            emit Lockdown(msg.sender, tokens[i]);
        }
    }

    /// @inheritdoc IAllowanceVault
    function hashPermit(AllowancePermit calldata permit_) external view returns (bytes32) {
        return _hashTypedDataV4(IntentHashing.hash(permit_));
    }

    /// @inheritdoc IAllowanceVault
    /// @dev The executor refuses the vault as an interaction target, so interactions (which run
    /// with msg.sender == executor) can never reach this function; only settle's pull step does,
    /// with `to` the executor itself or the owner of a buy leg in the same batch, whose balance
    /// growth settle measures against that owner's signed minimum.
    function pull(address owner, address token, uint256 amount, address to) external {
        if (msg.sender != executor) revert NotExecutor(msg.sender);
        _spend(owner, token, amount);
        // `owner` is the signer of an intent settle verified (docs/SECURITY.md, slither).
        // slither-disable-next-line arbitrary-send-erc20
        IERC20(token).safeTransferFrom(owner, to, amount);
    }

    /// @dev Checks expiry and spends `amount` of a finite allowance (one SLOAD + one SSTORE;
    /// an unlimited allowance is only read).
    function _spend(address owner, address token, uint256 amount) private {
        PackedAllowance storage slot = _allowances[owner][token];
        (uint160 allowed, uint48 expiration) = (slot.amount, slot.expiration);
        if (block.timestamp > expiration) revert AllowanceExpired(owner, token, expiration);
        if (allowed != type(uint160).max) {
            if (amount > allowed) revert AllowanceExceeded(owner, token, amount, allowed);
            // amount <= allowed < 2**160, so the cast and subtraction are exact.
            unchecked {
                slot.amount = allowed - uint160(amount);
            }
        }
    }
}
