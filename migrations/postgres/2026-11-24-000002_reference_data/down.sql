DELETE FROM programmes;
DELETE FROM roles;
