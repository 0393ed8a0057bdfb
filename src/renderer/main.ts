import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { apiKey } from './api'
import App from './App.vue'
import './style.css'

createApp(App).use(createPinia()).provide(apiKey, window.raftlab).mount('#app')
