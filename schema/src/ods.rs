//! ODS import (epraccur / epcmem).
