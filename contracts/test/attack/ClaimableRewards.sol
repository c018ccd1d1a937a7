// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Rewards a holder already earned, paid to the holder by anyone's call (like COMP's
/// `claimComp(holder)`, a vesting release or an airdrop claim): the third-party payment a keeper
/// can trigger in the middle of a batch. Test-only.
contract ClaimableRewards {
    IERC20 public immutable token;
    mapping(address holder => uint256) public owed;

    constructor(IERC20 token_) {
        token = token_;
    }

    /// @notice Records that `holder` is owed `amount` (the tokens must already be here).
    function accrue(address holder, uint256 amount) external {
        owed[holder] += amount;
    }

    /// @notice Pays `holder` everything it is owed; anyone may call.
    function claim(address holder) external {
        uint256 amount = owed[holder];
        owed[holder] = 0;
        if (amount != 0) token.transfer(holder, amount);
    }
}
