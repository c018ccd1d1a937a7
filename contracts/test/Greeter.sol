// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Toolchain smoke contract: proves that OpenZeppelin imports resolve through Ape and
/// the offline compiler frontend. Compiled for tests only.
contract Greeter is Ownable {
    string public greeting;

    constructor(string memory greeting_) Ownable(msg.sender) {
        greeting = greeting_;
    }

    function setGreeting(string calldata greeting_) external onlyOwner {
        greeting = greeting_;
    }
}
