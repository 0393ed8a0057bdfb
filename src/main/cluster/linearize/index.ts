export {
  checkHistory,
  checkOperations,
  type CheckOptions,
  type CheckResult,
  type Violation,
} from './checker'
export {
  describeOperation,
  HistoryRecorder,
  validateHistory,
  type KvInput,
  type KvOutput,
  type Operation,
} from './history'
export { kvRegister, type Model, type RegisterState } from './model'
