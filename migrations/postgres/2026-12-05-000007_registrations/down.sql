-- Nothing to undo: the shipped migration 5 has these columns and views, and databases that
-- gained them here are left with them (dropping them would break migration 5's own undo).
SELECT 1;
