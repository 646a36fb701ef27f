import { render } from 'preact';
import { Api } from './api.js';
import { App } from './app.js';

render(<App api={new Api()} />, document.getElementById('root')!);
