package serve

const childEnv = "CMRFM_SERVE_TEST_CHILD"

func childMain() int { return 0 }
