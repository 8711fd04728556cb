//! The fake `crm_resource` of the agent tests lives in testkit (the OMFLOW agents use it too).
pub use testkit::fakecrm::FakeCrm;
