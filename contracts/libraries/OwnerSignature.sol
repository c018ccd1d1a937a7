// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title The one rule for whether an owner signed a digest (intents and vault permits alike)
library OwnerSignature {
    /// @notice Whether `signature` over `digest` is the owner's: an ECDSA signature by the owner's
    /// key (OpenZeppelin tryRecover: 65 bytes, low-s, never address(0)) or, if the owner has
    /// code, an ERC-1271 yes from it.
    /// @dev ECDSA first, for every owner: an EOA with code (EIP-7702 delegation) still holds its
    /// key, and EOAs skip the cold EXTCODESIZE (2,600 gas). A contract address has no private
    /// key, so accepting a recovered match for it is safe. (OpenZeppelin's SignatureChecker
    /// tries only ERC-1271 for an address with code.)
    function isValid(
        address owner,
        bytes32 digest,
        bytes calldata signature
    ) internal view returns (bool) {
        // The error's argument only details a failure `err` already reports (docs/SECURITY.md).
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return true;
        return
            owner.code.length != 0 &&
            SignatureChecker.isValidERC1271SignatureNowCalldata(owner, digest, signature);
    }
}
